// Bearer-token check for /v1 routes when the server has an API key
// (/health and /metrics stay open, as in vLLM).

import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { ApiError } from "./errors.js";

const digest = (s: string) => createHash("sha256").update(s).digest();

export function requireApiKey(apiKey: string): RequestHandler {
  const expected = digest(apiKey);
  return (req, _res, next) => {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match) {
      return next(new ApiError(401, "missing API key: send it as 'Authorization: Bearer <key>'", "authentication_error", null, "invalid_api_key"));
    }
    // Hashing first makes the comparison constant-time whatever the lengths.
    if (!timingSafeEqual(digest(match[1].trim()), expected)) {
      return next(new ApiError(401, "incorrect API key provided", "authentication_error", null, "invalid_api_key"));
    }
    next();
  };
}
