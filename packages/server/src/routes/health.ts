// GET /health: 200 while serving, 503 once shutdown has begun (so a load
// balancer stops sending work).

import { Router } from "express";
import type { AppContext } from "../context.js";

export function healthRouter(ctx: AppContext): Router {
  const router = Router();
  router.get("/health", (_req, res) => {
    res.status(ctx.draining ? 503 : 200).json({
      status: ctx.draining ? "draining" : "ok",
      model: ctx.modelName,
      provider: ctx.engine.provider.provider,
      speculative: ctx.engine.speculative?.method ?? null,
      requests_in_flight: ctx.limiter.inFlight,
      engine_active_requests: ctx.engine.activeRequestCount,
      // Redis down is not unhealthy: the replica serves from its local suffix cache.
      shared_cache: ctx.sharedCache?.status() ?? { state: "disabled" },
    });
  });
  return router;
}
