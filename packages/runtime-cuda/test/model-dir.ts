// The model the tests run: the embedded one, or GLIMPSE_MODEL_DIR.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";

export const REPO_ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");
export const MODEL_DIR = process.env.GLIMPSE_MODEL_DIR ?? resolve(REPO_ROOT, "models/glimpse-coder-tiny");

if (!existsSync(MODEL_DIR)) {
  throw new Error(`model folder ${MODEL_DIR} is missing (set GLIMPSE_MODEL_DIR to another HF-style ONNX folder)`);
}
