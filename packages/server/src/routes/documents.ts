// Glimpse's own suffix-cache management: named documents (open files, specs,
// anything the client knows will recur) added to the global suffix tree so
// that speculation can draft from them.
//   POST   /v1/suffix/documents        {name, text}  -> {name, tokens}
//   GET    /v1/suffix/documents                      -> {object: "list", data: [{name, tokens}]}
//   DELETE /v1/suffix/documents/:name
//   DELETE /v1/suffix/documents                      (all)

import { Router, type Request, type Response } from "express";
import type { BodyParser } from "../body.js";
import { parseBody, type AppContext } from "../context.js";
import { ApiError } from "../errors.js";
import { documentRequest } from "../schemas/documents.js";

export function documentsRouter(ctx: AppContext, body: BodyParser): Router {
  const router = Router();
  const path = "/v1/suffix/documents";
  router.post(path, body, (req: Request, res: Response) => {
    const { name, text } = parseBody(documentRequest, req.body);
    const replaced = ctx.engine.listDocuments().some((d) => d.name === name);
    const tokens = ctx.engine.addDocument(name, text);
    res.status(replaced ? 200 : 201).json({ object: "suffix.document", name, tokens });
  });
  router.get(path, (_req, res) => {
    res.json({ object: "list", data: ctx.engine.listDocuments().map((d) => ({ object: "suffix.document", ...d })) });
  });
  router.delete(`${path}/:name`, (req, res) => {
    const name = String(req.params.name);
    if (!ctx.engine.removeDocument(name)) throw new ApiError(404, `name: no document named '${name}'`, "not_found_error", "name", "document_not_found");
    res.json({ object: "suffix.document.deleted", name, deleted: true });
  });
  router.delete(path, (_req, res) => {
    const count = ctx.engine.listDocuments().length;
    ctx.engine.clearDocuments();
    res.json({ object: "suffix.documents.deleted", deleted: count });
  });
  return router;
}
