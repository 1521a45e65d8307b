import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../http/errors.ts";
import { requires } from "../../http/security.ts";

export const FaultsSchema = z
  .object({
    faults: z.string().max(2048).openapi({
      example: "dynamodb:error=0.5,redis:latency=200ms",
      description: "The FAULTS grammar: dep:error=P or dep:latency=DURATION, comma-separated; empty clears",
    }),
  })
  .openapi("Faults");

const security = requires("admin");

export const getFaults = createRoute({
  method: "get",
  path: "/admin/faults",
  tags: ["Admin"],
  operationId: "getFaults",
  summary: "Faults injected into dependency calls right now",
  security,
  responses: {
    200: { description: "Current faults", content: { "application/json": { schema: FaultsSchema } } },
    ...errorResponses(401, 403),
  },
});

export const putFaults = createRoute({
  method: "put",
  path: "/admin/faults",
  tags: ["Admin"],
  operationId: "putFaults",
  summary: "Replace every injected fault",
  security,
  request: { body: { required: true, content: { "application/json": { schema: FaultsSchema } } } },
  responses: {
    200: { description: "Faults now in force", content: { "application/json": { schema: FaultsSchema } } },
    ...errorResponses(400, 401, 403, 415),
  },
});

export const deleteFaults = createRoute({
  method: "delete",
  path: "/admin/faults",
  tags: ["Admin"],
  operationId: "deleteFaults",
  summary: "Stop injecting faults",
  security,
  responses: { 204: { description: "No faults any more" }, ...errorResponses(401, 403) },
});
