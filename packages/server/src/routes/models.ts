// GET /v1/models and GET /v1/models/:id: the one model this server serves.

import { Router } from "express";
import { ApiError } from "../errors.js";
import { backendOf, type AppContext } from "../context.js";

export function modelsRouter(ctx: AppContext, startedAt: number): Router {
  const router = Router();
  const card = () => ({
    id: ctx.modelName,
    object: "model",
    created: startedAt,
    owned_by: "glimpse",
    root: ctx.modelSource,
    backend: backendOf(ctx.engine),
    max_model_len: ctx.engine.maxModelLen,
    speculative_config: ctx.engine.speculative,
  });
  router.get("/v1/models", (_req, res) => {
    res.json({ object: "list", data: [card()] });
  });
  router.get("/v1/models/:id", (req, res) => {
    if (req.params.id !== ctx.modelName) throw new ApiError(404, `model: the model '${req.params.id}' does not exist`, "not_found_error", "model", "model_not_found");
    res.json(card());
  });
  return router;
}
