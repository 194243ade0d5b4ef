// The embedded model as a GGUF file, written by the converter (tools/convert:
// `python3 -m glimpse_convert --to gguf`, what `glimpse convert --to gguf`
// runs) into a temporary folder, with the GGUF description cache beside it.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../model-dir.js";

export const EMBEDDED_DIR = join(REPO_ROOT, "models/glimpse-coder-tiny");

export interface TinyGguf {
  file: string;
  work: string;
  remove(): void;
}

/** Writes the embedded model's weights to `work/tiny-<dtype>.gguf`. */
export function convertTiny(work: string, dtype: "f32" | "f16" | "q8_0" = "f32"): string {
  const out = join(work, `tiny-${dtype}.gguf`);
  const python = process.env.GLIMPSE_PYTHON ?? "/usr/bin/python3";
  const r = spawnSync(python, ["-m", "glimpse_convert", "--from", EMBEDDED_DIR, "--to", "gguf", "--out", out, "--dtype", dtype], {
    encoding: "utf8",
    env: { ...process.env, PYTHONPATH: join(REPO_ROOT, "tools/convert") },
  });
  if (r.status !== 0) throw new Error(`glimpse_convert --to gguf failed (${r.status}):\n${(r.stderr ?? "").slice(-3000)}`);
  return out;
}

/** A temporary folder with the f32 GGUF, and GLIMPSE_CACHE_DIR pointing inside it (GGUF descriptions, cost curves). */
export function tinyGguf(): TinyGguf {
  const work = mkdtempSync(join(tmpdir(), "glimpse-llama-"));
  process.env.GLIMPSE_CACHE_DIR = join(work, "cache");
  return { file: convertTiny(work), work, remove: () => rmSync(work, { recursive: true, force: true }) };
}
