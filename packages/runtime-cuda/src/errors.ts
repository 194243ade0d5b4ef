// Errors users can act on: each names what was wrong and what is allowed.

/** A bad option or argument: `field` names it. */
export class GlimpseConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
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
