// Builds the GGUF every test file uses, once per run, the way users make one: `glimpse convert --to gguf` on the
// embedded model (models/glimpse-coder-tiny), f32 weights. Test files read its path with inject("tinyGguf").

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

declare module "vitest" {
  export interface ProvidedContext {
    tinyGguf: string;
  }
}

let work: string | undefined;

export function setup(project: TestProject): void {
  work = mkdtempSync(join(tmpdir(), "suffix-llama-"));
  const out = join(work, "glimpse-coder-tiny-f32.gguf");
  const args = [join(REPO_ROOT, "packages/server/bin/glimpse.js"), "convert",
    "--from", join(REPO_ROOT, "models/glimpse-coder-tiny"), "--to", "gguf", "--out", out, "--dtype", "f32"];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", cwd: REPO_ROOT, timeout: 300_000 });
  if (r.status !== 0) {
    throw new Error(`glimpse convert --to gguf failed (status ${r.status}; is packages/server built? npm run build):\n`
      + `${(r.stderr ?? "").slice(-3000)}`);
  }
  project.provide("tinyGguf", out);
}

export function teardown(): void {
  if (work) rmSync(work, { recursive: true, force: true });
}
