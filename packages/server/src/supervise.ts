// How a served process ends: SIGTERM/SIGINT drain and save (a second signal
// stops waiting for in-flight requests but still saves), and a dead engine
// worker makes the process exit non-zero, so that its supervisor (systemd,
// Kubernetes, a load balancer's health check) restarts it; the restart loads
// the suffix cache's last snapshot.

import type { InferenceEngine } from "@glimpse/runtime-cuda";
import type { Logger } from "pino";
import type { RunningServer } from "./server.js";

/** Exit status after the engine died (EX_SOFTWARE). */
export const ENGINE_FAILED_EXIT_CODE = 70;

export function supervise(running: RunningServer, engine: InferenceEngine, log: Logger): void {
  let stopping = false;
  let exitCode = 0;
  const stop = async () => {
    stopping = true;
    await running.close();
    await engine.close();
    log.info({ exitCode }, "stopped");
    process.exit(exitCode);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal: cutting in-flight requests (the suffix cache is still saved)");
      running.cut();
      return;
    }
    log.info({ signal }, "shutting down");
    void stop();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  engine.onFailure?.((err) => {
    // In-flight requests have already failed with 503; /health says why until the listener closes.
    log.fatal({ reason: err.message, exitCode: ENGINE_FAILED_EXIT_CODE }, "engine failed: exiting so that a supervisor restarts the server");
    exitCode = ENGINE_FAILED_EXIT_CODE;
    if (!stopping) void stop();
  });
}
