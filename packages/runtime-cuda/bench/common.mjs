// Shared by the engine benches: the default model, engine thread flags, medians.
import { fileURLToPath } from "node:url";

export const DEFAULT_MODEL = fileURLToPath(new URL("../../../models/glimpse-coder-tiny", import.meta.url));

/** Engine options for a `--threads N` flag (none: the engine's default). */
export const threadOptions = (threads) => (threads ? { intraOpThreads: Number(threads) } : {});

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
