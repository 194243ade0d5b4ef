// Runs one of examples/*.mjs on the test model in a child Node and returns its stdout.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MODEL_DIR } from "./model-dir.js";

export async function runExample(name: string): Promise<string> {
  const example = fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
  return (await promisify(execFile)(process.execPath, [example, MODEL_DIR])).stdout;
}
