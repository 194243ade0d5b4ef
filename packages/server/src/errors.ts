// Errors in OpenAI's JSON shape: { error: { message, type, param, code } },
// each with the HTTP status a client of the OpenAI API expects.

import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "pino";
import type { ZodError } from "zod";
import { EngineUnavailableError, GlimpseConfigError } from "@glimpse/runtime-cuda";

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "rate_limit_error"
  | "internal_server_error"
  | "service_unavailable_error";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType = "invalid_request_error",
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toJSON() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (param: string | null, message: string, code: string | null = null) =>
  new ApiError(400, param ? `${param}: ${message}` : message, "invalid_request_error", param, code);

/** `messages[0].content` from zod's path ["messages", 0, "content"]. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), "");
}

/** A request whose client closed the connection before the answer (nginx's 499): its work is stopped. */
export function clientClosed(): ApiError {
  return new ApiError(499, "the client closed the connection", "invalid_request_error", null, "client_closed");
}

/** The first zod issue, as a 400 that names the field. */
export function fromZod(error: ZodError): ApiError {
  const issue = error.issues[0];
  const at = fieldPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    const name = at ? `${at}.${issue.keys[0]}` : issue.keys[0];
    return badRequest(name, `unknown field (not part of this API)`, "unknown_field");
  }
  return badRequest(at || null, issue.message);
}

/** Maps anything thrown by a route to an ApiError; unknown errors become a bare 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof GlimpseConfigError) {
    // The runtime's message already starts with the field.
    return new ApiError(400, err.message, "invalid_request_error", err.field);
  }
  if (err instanceof EngineUnavailableError) {
    return new ApiError(503, err.message, "service_unavailable_error", null, "engine_unavailable");
  }
  // Express and body-parser mark client faults (a URL that does not decode, an unreadable body) with a 4xx status.
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === "number" && status >= 400 && status < 500) {
    const message = err instanceof URIError ? "the URL is not valid percent-encoding" : `bad request: ${(err as Error).message}`;
    return new ApiError(status, message);
  }
  return new ApiError(500, "internal server error", "internal_server_error");
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const api = toApiError(err);
    if (api.status >= 500) log.error({ err, method: req.method, url: req.originalUrl }, "request failed");
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(api.status).json(api.toJSON());
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, `no route for ${req.method} ${req.path}`, "not_found_error", null, "route_not_found"));
};
