// A GGUF file described as a Hugging Face model folder (config.json,
// tokenizer.json, tokenizer_config.json, generation_config.json), so the
// code that reads a model folder (config, tokenizer, chat template, FIM
// markers, grammar vocabulary, the server's tokenizer pool) runs unchanged
// on a model that llama.cpp runs.
//
// The folder lives in the cache ($GLIMPSE_CACHE_DIR, else
// $XDG_CACHE_HOME/glimpse, else ~/.cache/glimpse) under gguf/, keyed by the
// file's path, size and modification time; it is written in a temporary
// folder and renamed into place, so a reader never sees half of it.

import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ModelLoadError } from "../../errors.js";
import { costCacheDir } from "../../verify/verify-cost-cache.js";
import { buildGenerationConfig, buildModelConfig } from "./gguf-config.js";
import { GgufMetadata } from "./gguf-metadata.js";
import { buildTokenizerConfig, buildTokenizerJson } from "./gguf-tokenizer.js";

/** Bump when the files written change, so old descriptions are not reused. */
const FORMAT_VERSION = 1;

export interface GgufDescription {
  /** The description folder: read it as the model folder. */
  dir: string;
}

/** Where the description of `file` (an absolute path) is kept. */
export function descriptionDir(file: string, env: NodeJS.ProcessEnv = process.env): string {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new ModelLoadError(`${file}: no such GGUF file`);
  }
  if (!st.isFile()) throw new ModelLoadError(`${file} is not a file (a GGUF model is one .gguf file)`);
  const key = createHash("sha256").update(`${FORMAT_VERSION}\0${file}\0${st.size}\0${Math.round(st.mtimeMs)}`).digest("hex").slice(0, 16);
  const stem = basename(file).replace(/\.gguf$/i, "").replace(/[^\w.-]+/g, "_");
  return join(costCacheDir(env), "gguf", `${stem}-${key}`);
}

/**
 * The tokenizer.json: embedded in the GGUF (tokenizer.huggingface.json),
 * else rebuilt from tokenizer.ggml.*, else a tokenizer.json beside the file
 * when the GGUF's tokenizer cannot be rebuilt.
 */
function tokenizerJson(meta: GgufMetadata, file: string): { json: object } | { copy: string } {
  const embedded = meta.string("tokenizer.huggingface.json");
  if (embedded !== undefined) {
    try {
      return { json: JSON.parse(embedded) as object };
    } catch (err) {
      throw new ModelLoadError(`${file}: GGUF metadata key "tokenizer.huggingface.json" is not valid JSON: ${(err as Error).message}`);
    }
  }
  try {
    return { json: buildTokenizerJson(meta) };
  } catch (err) {
    const beside = join(dirname(file), "tokenizer.json");
    if (err instanceof ModelLoadError && existsSync(beside)) return { copy: beside };
    throw err;
  }
}

function writeDescription(meta: GgufMetadata, file: string, into: string): void {
  const json = (name: string, value: unknown) => writeFileSync(join(into, name), JSON.stringify(value, null, 2) + "\n");
  json("config.json", buildModelConfig(meta)); // first: an unsupported architecture is the clearest error
  const tokenizer = tokenizerJson(meta, file);
  if ("copy" in tokenizer) copyFileSync(tokenizer.copy, join(into, "tokenizer.json"));
  else writeFileSync(join(into, "tokenizer.json"), JSON.stringify(tokenizer.json));
  json("tokenizer_config.json", buildTokenizerConfig(meta));
  json("generation_config.json", buildGenerationConfig(meta));
  json("gguf-source.json", { file, format: FORMAT_VERSION });
}

/** Describes `ggufFile` as a model folder (reused from the cache when the file has not changed). */
export async function describeGguf(ggufFile: string): Promise<GgufDescription> {
  const file = resolve(ggufFile);
  const dir = descriptionDir(file);
  if (existsSync(join(dir, "gguf-source.json"))) return { dir };
  const meta = await GgufMetadata.read(file);
  const parent = dirname(dir);
  try {
    mkdirSync(parent, { recursive: true });
  } catch (err) {
    throw new ModelLoadError(`cannot create the GGUF description cache ${parent} (set GLIMPSE_CACHE_DIR to a writable folder): ${(err as Error).message}`);
  }
  const tmp = mkdtempSync(join(parent, `.${basename(dir)}-`));
  try {
    writeDescription(meta, file, tmp);
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // another process described the same file first: its folder is as good as ours
      if (!existsSync(join(dir, "gguf-source.json"))) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { dir };
}
