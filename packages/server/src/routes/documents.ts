// Glimpse's own suffix-cache management: named documents (open files, specs,
// anything the client knows will recur) added to the global suffix tree so
// that speculation can draft from them.
//   POST   /v1/suffix/documents        {name, text}  -> {name, tokens}
//   GET    /v1/suffix/documents                      -> {object: "list", data: [{name, tokens}]}
//   DELETE /v1/suffix/documents/:name
//   DELETE /v1/suffix/documents                      (all)

import { GlimpseConfigError } from "@glimpse/runtime-cuda";
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
    // 413 over the byte cap, 429 when too much is already being added; both before any work.
    const release = ctx.documentGate.enter(Buffer.byteLength(text));
    try {
      const replaced = (await ctx.engine.listDocuments()).some((d) => d.name === name);
      // Tokenized in a tokenizer thread; the engine inserts the ids in slices between decoding steps.
      const gate = ctx.documentGate;
      // A client that goes away mid-upload leaves no work behind: tokenizing stops at its next piece.
      const gone = new AbortController();
      res.once("close", () => {
        if (!res.writableFinished) gone.abort();
      });
      const ids = await ctx.tokenizers.run({ kind: "document", text, maxTokens: gate.maxDocumentTokens, share: gate.tokenizeShare }, gone.signal);
      const tokens = await ctx.engine.addDocumentTokens(name, ids).catch((err: unknown) => {
        if (err instanceof GlimpseConfigError && err.field === "text") throw new ApiError(413, err.message, "invalid_request_error", "text", "document_too_large");
        throw err;
      });
      ctx.sharedCache?.publish({ kind: "document", name, tokens: Array.from(ids) });
      res.status(replaced ? 200 : 201).json({ object: "suffix.document", name, tokens });
    } finally {
      release();
    }
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
