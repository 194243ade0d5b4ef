// Browsers as attackers: a web page can POST to a server on 127.0.0.1 (a
// `text/plain` body needs no preflight) and, by DNS rebinding, even read the
// answers. So cross-origin requests are refused unless their Origin is listed
// (`--allowed-origins`), JSON routes take `application/json` bodies only (a
// simple cross-site form or fetch cannot send that without a preflight), and
// on a keyless server the Host header must name this server.

import { isIP } from "node:net";
import type { RequestHandler } from "express";
import { ApiError } from "./errors.js";

export interface OriginPolicy {
  /** Origins allowed to call the API from a browser ("*": any); none by default. */
  allowedOrigins: readonly string[];
  /** The bind address, when Host must be checked (a server without an API key); null: no check. */
  bindHost: string | null;
}

const normalize = (origin: string) => origin.trim().toLowerCase().replace(/\/+$/, "");

/** `--allowed-origins a,b` as a list. */
export function parseOrigins(list: string | undefined): string[] {
  return (list ?? "").split(",").map(normalize).filter(Boolean);
}

/**
 * A Host a rebinding page cannot produce: an IP literal, localhost, or the bound name.
 * The port is not compared: port forwarding (ssh -L, docker -p) changes it
 * legitimately, while rebinding needs an attacker's host *name*.
 */
export function hostAllowed(hostHeader: string | undefined, bindHost: string): boolean {
  if (hostHeader === undefined) return true; // HTTP/1.0: no browser sends that
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(hostHeader.trim());
  if (!m) return false;
  const name = m[1].toLowerCase().replace(/^\[|\]$/g, "");
  return isIP(name) !== 0 || name === "localhost" || name === bindHost.toLowerCase().replace(/^\[|\]$/g, "");
}

export function originGuard(policy: OriginPolicy): RequestHandler {
  const allowed = new Set(policy.allowedOrigins.map(normalize));
  const any = allowed.has("*");
  return (req, res, next) => {
    if (policy.bindHost !== null && !hostAllowed(req.headers.host, policy.bindHost)) {
      return next(new ApiError(403, `Host '${req.headers.host}' does not name this server; use its address, or start it with --api-key to serve other names`, "invalid_request_error", null, "host_not_allowed"));
    }
    const origin = req.headers.origin;
    if (origin === undefined) return next(); // not a browser's cross-origin request
    if (!any && !allowed.has(normalize(origin))) {
      return next(new ApiError(403, `cross-origin requests from '${origin}' are not allowed; start the server with --allowed-origins '${origin}' to allow them`, "invalid_request_error", null, "origin_not_allowed"));
    }
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Vary", "Origin");
    if (req.method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
      res.setHeader("Access-Control-Allow-Headers", "authorization, content-type");
      res.setHeader("Access-Control-Max-Age", "600");
      res.status(204).end();
      return;
    }
    next();
  };
}

/** POSTs read `application/json` only (415 otherwise), whatever the client's origin. */
export const requireJsonContentType: RequestHandler = (req, _res, next) => {
  if (req.method !== "POST") return next();
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (type === "application/json") return next();
  next(new ApiError(415, `Content-Type must be application/json${type ? `, got ${type}` : ""}`, "invalid_request_error", null, "unsupported_media_type"));
};
