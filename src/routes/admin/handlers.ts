import { invalidInput } from "../../domain/outcomes.ts";
import type { HttpCore } from "../../http/app.ts";
import { FaultSyntaxError, type Faults, parseFaults } from "../../resilience/faults.ts";
import { deleteFaults, getFaults, putFaults } from "./routes.ts";

export function registerAdminRoutes({ handle }: HttpCore, faults: Faults): void {
  handle(getFaults, (c) => c.json({ faults: faults.format() }, 200));

  handle(putFaults, (c, { body }) => {
    const text = body.faults;
    try {
      faults.replace(parseFaults(text));
    } catch (err) {
      if (err instanceof FaultSyntaxError) throw invalidInput("invalid faults", `faults: ${err.message}`);
      throw err;
    }
    return c.json({ faults: faults.format() }, 200);
  });

  handle(deleteFaults, (c) => {
    faults.clear();
    return c.body(null, 204);
  });
}
