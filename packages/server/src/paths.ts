// Where the embedded model lives: models/glimpse-coder-tiny at the repository root.

import { fileURLToPath } from "node:url";

/** GLIMPSE_MODEL_DIR when set, else the repository's embedded model. */
export const EMBEDDED_MODEL_DIR = process.env.GLIMPSE_MODEL_DIR
  ?? fileURLToPath(new URL("../../../models/glimpse-coder-tiny", import.meta.url));
