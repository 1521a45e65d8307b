import { createCommerceTables } from "../helpers/aws.ts";
import { sharedDynamoDb } from "../helpers/deps.ts";
import { commerceSuite } from "./commerce-suite.ts";

commerceSuite("DynamoDB (DynamoDB Local)", async () => createCommerceTables((await sharedDynamoDb()).url), {
  flash: 1000,
});
