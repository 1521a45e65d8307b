import { commerceSuite, inProcessTarget } from "./commerce-suite.ts";

commerceSuite("memory", () => inProcessTarget(), { flash: 1000, inProcess: true });
