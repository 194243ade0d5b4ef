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
  // The engine may live in a worker thread (RemoteEngine): every call is awaited.
  router.post(path, body, async (req: Request, res: Response) => {
    const { name, text } = parseBody(documentRequest, req.body);
    const replaced = (await ctx.engine.listDocuments()).some((d) => d.name === name);
    const tokens = await ctx.engine.addDocument(name, text);
    ctx.sharedCache?.publish({ kind: "document", name, tokens: ctx.engine.tokenizer.encode(text) });
    res.status(replaced ? 200 : 201).json({ object: "suffix.document", name, tokens });
  });
  router.get(path, async (_req, res) => {
    res.json({ object: "list", data: (await ctx.engine.listDocuments()).map((d) => ({ object: "suffix.document", ...d })) });
  });
  router.delete(`${path}/:name`, async (req, res) => {
    const name = String(req.params.name);
    ctx.sharedCache?.publish({ kind: "remove", name }); // other replicas may hold it even if this one evicted it
    if (!(await ctx.engine.removeDocument(name))) throw new ApiError(404, `name: no document named '${name}'`, "not_found_error", "name", "document_not_found");
    res.json({ object: "suffix.document.deleted", name, deleted: true });
  });
  router.delete(path, async (_req, res) => {
    const count = (await ctx.engine.listDocuments()).length;
    await ctx.engine.clearDocuments();
    ctx.sharedCache?.publish({ kind: "clear" });
    res.json({ object: "suffix.documents.deleted", deleted: count });
  });
  return router;
}
