import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { awsClientConfig } from "../aws.ts";

/** The document client the commerce stores share: undefined values dropped, numbers kept as numbers. */
export function createDocumentClient(env: Record<string, string | undefined>): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(awsClientConfig(env, "DYNAMODB")), {
    marshallOptions: { removeUndefinedValues: true },
  });
}
