import { createCommerceTables } from "../helpers/aws.ts";
import { sharedDynamoDb } from "../helpers/deps.ts";
import { commerceSuite, inProcessTarget } from "./commerce-suite.ts";

commerceSuite(
  "DynamoDB (DynamoDB Local)",
  async () => inProcessTarget(await createCommerceTables((await sharedDynamoDb()).url)),
  { flash: 1000, inProcess: true },
);
