import { adminAuth } from "../../http/admin-auth.ts";
import type { App } from "../../http/app.ts";
import { invalidInput } from "../../http/errors.ts";
import { FaultSyntaxError, type Faults, parseFaults } from "../../resilience/faults.ts";
import { deleteFaults, getFaults, putFaults } from "./routes.ts";

export function registerAdminRoutes(app: App, token: string, faults: Faults): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "adminBearer", { type: "http", scheme: "bearer" });
  app.use("/admin/*", adminAuth(token));

  app.openapi(getFaults, (c) => c.json({ faults: faults.format() }, 200));

  app.openapi(putFaults, (c) => {
    const { faults: text } = c.req.valid("json");
    try {
      faults.replace(parseFaults(text));
    } catch (err) {
      if (err instanceof FaultSyntaxError) throw invalidInput("invalid faults", `faults: ${err.message}`);
      throw err;
    }
    return c.json({ faults: faults.format() }, 200);
  });

  app.openapi(deleteFaults, (c) => {
    faults.clear();
    return c.body(null, 204);
  });
}
