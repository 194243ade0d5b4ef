// JSON bodies, strictly: the raw bytes must be valid UTF-8 (body-parser would
// silently turn bad bytes into U+FFFD) and parse to a JSON object.

import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import { ApiError, badRequest } from "./errors.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

export type BodyParser = (RequestHandler | ErrorRequestHandler)[];

export function jsonBody(limit: string | number): BodyParser {
  // Any content type: curl's -d sends form-urlencoded unless told otherwise.
  const raw = express.raw({ type: () => true, limit });
  const parse: RequestHandler = (req, _res, next) => {
    const bytes: unknown = req.body;
    if (!Buffer.isBuffer(bytes) || bytes.length === 0) return next(badRequest(null, "request body is empty; expected a JSON object"));
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return next(badRequest(null, "request body is not valid UTF-8", "invalid_encoding"));
    }
    try {
      req.body = JSON.parse(text);
    } catch (err) {
      return next(badRequest(null, `request body is not valid JSON: ${(err as Error).message}`, "invalid_json"));
    }
    if (req.body === null || typeof req.body !== "object" || Array.isArray(req.body)) {
      return next(badRequest(null, "request body must be a JSON object"));
    }
    next();
  };
  // body-parser's own errors (size, encoding, aborted upload) carry a status.
  const translate: ErrorRequestHandler = (err, _req, _res, next) => {
    if (err?.type === "entity.too.large") {
      return next(new ApiError(413, `request body is larger than the limit of ${limit}`, "invalid_request_error", null, "body_too_large"));
    }
    if (typeof err?.status === "number" && err.status >= 400 && err.status < 500) {
      return next(new ApiError(err.status, `could not read the request body: ${err.message}`));
    }
    next(err);
  };
  return [raw, translate, parse];
}
