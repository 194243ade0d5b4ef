// Errors users can act on: each names what was wrong and what is allowed.

/** A bad option or argument: `field` names it. */
export class GlimpseConfigError extends Error {
  /** @param reason what is wrong and what is allowed (the message is "field: reason") */
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
    this.name = "GlimpseConfigError";
  }
}

/** A model folder that cannot be served: says which file or what was found. */
export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelLoadError";
  }
}

/** Generation stopped by its AbortSignal. */
export class GenerationAbortedError extends Error {
  constructor() {
    super("generation aborted");
    this.name = "AbortError";
  }
}

/** An error as data, to cross a thread boundary and be rebuilt as the same class. */
export type ErrorData =
  | { kind: "config"; field: string; message: string }
  | { kind: "model"; message: string }
  | { kind: "aborted"; message: string }
  | { kind: "internal"; name: string; message: string };

export function errorToData(err: unknown): ErrorData {
  if (err instanceof GlimpseConfigError) return { kind: "config", field: err.field, message: err.reason };
  if (err instanceof ModelLoadError) return { kind: "model", message: err.message };
  if (err instanceof GenerationAbortedError) return { kind: "aborted", message: err.message };
  const e = err instanceof Error ? err : new Error(String(err));
  return { kind: "internal", name: e.name, message: e.message };
}

export function errorFromData(d: ErrorData): Error {
  switch (d.kind) {
    case "config":
      return new GlimpseConfigError(d.field, d.message);
    case "model":
      return new ModelLoadError(d.message);
    case "aborted":
      return new GenerationAbortedError();
    case "internal": {
      const err = new Error(d.message);
      err.name = d.name;
      return err;
    }
  }
}
