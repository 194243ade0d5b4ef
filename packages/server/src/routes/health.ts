// GET /health: 200 while serving; 503 once shutdown has begun or the engine
// has died (so a load balancer stops sending work, and a supervisor sees why).

import { Router } from "express";
import { backendOf, type AppContext } from "../context.js";

export function healthRouter(ctx: AppContext): Router {
  const router = Router();
  router.get("/health", (_req, res) => {
    const failure = ctx.engine.failure ?? null;
    const status = failure ? "engine_failed" : ctx.draining ? "draining" : "ok";
    res.status(status === "ok" ? 200 : 503).json({
      status,
      ...(failure ? { reason: failure.message } : {}),
      model: ctx.modelName,
      backend: backendOf(ctx.engine),
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
