// GET /metrics: Prometheus text format.

import { Router } from "express";
import type { AppContext } from "../context.js";

export function metricsRouter(ctx: AppContext): Router {
  const router = Router();
  router.get("/metrics", async (_req, res) => {
    res.setHeader("Content-Type", ctx.metrics.registry.contentType);
    res.send(await ctx.metrics.registry.metrics());
  });
  return router;
}
