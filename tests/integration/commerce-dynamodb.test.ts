import { afterAll } from "bun:test";
import { createCommerceTables, type Dynalite, startDynalite } from "../helpers/aws.ts";
import { commerceSuite, inProcessTarget } from "./commerce-suite.ts";

let dynamo: Dynalite | undefined;
afterAll(() => dynamo?.stop());

commerceSuite(
  "DynamoDB (dynalite)",
  async () => {
    dynamo = await startDynalite();
    return inProcessTarget(await createCommerceTables(dynamo.endpoint));
  },
  { flash: 1000, inProcess: true },
);
