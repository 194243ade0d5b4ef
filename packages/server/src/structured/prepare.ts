// Compiles a request's constraints before any response byte is sent, so that
// a bad schema, regex or grammar is a 400 even for stream: true, named by the
// request's own field with XGrammar's message.

import { GlimpseConfigError, type InferenceEngine } from "@glimpse/runtime-cuda";
import { badRequest } from "../errors.js";
import type { ConstraintSource } from "./source.js";

/** In order: the first that fails is reported. */
export async function prepareConstraints(engine: InferenceEngine, sources: readonly ConstraintSource[]): Promise<void> {
  for (const source of sources) {
    try {
      await engine.prepareConstraint(source.constraint);
    } catch (err) {
      throw err instanceof GlimpseConfigError ? badRequest(requestField(err.field, source), err.reason, "invalid_constraint") : err;
    }
  }
}

/** The engine's "constraint" or "constraint.<key>..." -> the field the client sent. */
export function requestField(engineField: string, source: ConstraintSource): string {
  const m = /^constraint(?:\.([A-Za-z_]+))?(.*)$/.exec(engineField);
  if (!m) return source.field;
  const [, key, rest] = m;
  const base = key === undefined ? null : source.keys?.[key];
  return base ? base + rest : source.field;
}
