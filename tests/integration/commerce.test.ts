import { commerceSuite } from "./commerce-suite.ts";

commerceSuite("memory", () => ({}), { flash: 1000 });
