// What a RemoteEngine reports once its worker thread is gone (out of memory,
// an uncaught error, an unexpected exit): every pending and later call fails
// with this at once instead of waiting on a thread that will never answer.

export class EngineUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`the engine is unavailable: ${reason}`);
    this.name = "EngineUnavailableError";
  }
}

/** Why a worker died, in words a log reader can act on. */
export function describeWorkerDeath(err: unknown): string {
  const e = err as { code?: string; message?: string } | undefined;
  if (e?.code === "ERR_WORKER_OUT_OF_MEMORY") return "the engine worker ran out of memory";
  return `the engine worker failed: ${e?.message ?? String(err)}`;
}
