// The suffix cache file: a JSON document with a small header (format,
// version, the vocabulary it was written for) next to the engine's state.
// Writes are atomic (temp file, fsync, rename, fsync of the folder), so a
// kill at any moment leaves the previous snapshot whole; a file that cannot
// be used is moved aside, never deleted, and the server starts empty.

import { createHash } from "node:crypto";
import { constants, existsSync, readFileSync, statSync } from "node:fs";
import { access, open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { InferenceEngine, SuffixState } from "@glimpse/runtime-cuda";
import { GlimpseConfigError } from "@glimpse/runtime-cuda";

export const FORMAT = "glimpse-suffix-cache";
export const VERSION = 1;

/** What a file must match to be loaded: token ids only mean something under the same vocabulary. */
export interface CacheIdentity {
  model: string;
  vocab_size: number;
  /** sha256 of the model's tokenizer.json; null when the model has none. */
  tokenizer_sha256: string | null;
}

export interface CacheHeader extends CacheIdentity {
  format: typeof FORMAT;
  version: typeof VERSION;
  saved_at: string;
}

export type CacheFile = CacheHeader & SuffixState;

export function identityOf(engine: InferenceEngine): CacheIdentity {
  const tok = join(engine.modelDir, "tokenizer.json");
  return {
    model: basename(engine.modelDir),
    vocab_size: engine.config.vocabSize,
    tokenizer_sha256: existsSync(tok) ? createHash("sha256").update(readFileSync(tok)).digest("hex") : null,
  };
}

/**
 * Fails with a clear message when the file could not be written later (run
 * before the model loads, so a typo costs a second, not a load and a lost cache).
 */
export async function checkCacheFileWritable(file: string): Promise<void> {
  const dir = dirname(file);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new Error(`--suffix-cache-file ${file}: the folder ${dir} does not exist`);
  if (existsSync(file)) {
    if (!statSync(file).isFile()) throw new Error(`--suffix-cache-file ${file}: not a regular file`);
    await access(file, constants.R_OK | constants.W_OK).catch(() => {
      throw new Error(`--suffix-cache-file ${file}: not readable and writable by this user`);
    });
  }
  // access(W_OK) says yes to root on a read-only file system: create the temp file for real.
  const probe = tempPath(file);
  try {
    await (await open(probe, "w")).close();
    await unlink(probe);
  } catch (err) {
    throw new Error(`--suffix-cache-file ${file}: cannot write in ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

const tempPath = (file: string) => `${file}.tmp`;

/** Writes the snapshot so that the file is always either the old one or the new one, and survives a power cut. */
export async function writeCacheFile(file: string, body: string): Promise<void> {
  const tmp = tempPath(file);
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(body);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  // The rename itself is durable only once the folder is synced.
  const dh = await open(dirname(file), "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** The header, then the state's own members (`stateJson`: a SuffixState as JSON, serialized once by the caller). */
export function encodeCacheFile(identity: CacheIdentity, stateJson: string): string {
  const header: CacheHeader = { format: FORMAT, version: VERSION, ...identity, saved_at: new Date().toISOString() };
  return `${JSON.stringify(header).slice(0, -1)},${stateJson.slice(1)}`;
}

/** Why a file cannot be loaded (it is then moved aside), or its state. */
export function decodeCacheFile(text: string, identity: CacheIdentity): { state: SuffixState; legacy: boolean } | { problem: string } {
  if (text.trim() === "") return { problem: "the file is empty" };
  let data: Partial<CacheFile>;
  try {
    data = JSON.parse(text) as Partial<CacheFile>;
  } catch (err) {
    return { problem: `not valid JSON (${(err as Error).message})` };
  }
  if (data === null || typeof data !== "object" || !Array.isArray(data.documents) || !Array.isArray(data.responses)) {
    return { problem: 'no "documents" and "responses" arrays' };
  }
  const state: SuffixState = { documents: data.documents, responses: data.responses };
  // Files written before the header existed: the vocabulary check below is all there is.
  if (data.format === undefined) return { state, legacy: true };
  if (data.format !== FORMAT) return { problem: `format is ${JSON.stringify(data.format)}, expected "${FORMAT}"` };
  if (data.version !== VERSION) return { problem: `format version ${JSON.stringify(data.version)}, this server reads ${VERSION}` };
  if (data.vocab_size !== identity.vocab_size) return { problem: `written for a vocabulary of ${data.vocab_size} tokens (model ${data.model}); this model has ${identity.vocab_size}` };
  if (identity.tokenizer_sha256 && data.tokenizer_sha256 && data.tokenizer_sha256 !== identity.tokenizer_sha256) {
    return { problem: `written with a different tokenizer (model ${data.model})` };
  }
  return { state, legacy: false };
}

export interface LoadOutcome {
  /** "empty": no file yet; "moved": unusable, renamed to `movedTo`. */
  outcome: "loaded" | "empty" | "moved";
  documents?: number;
  responses?: number;
  movedTo?: string;
  problem?: string;
  legacy?: boolean;
}

/** Loads the file into the engine; an unusable file (unreadable JSON, other vocabulary, ids out of range) is moved aside. */
export async function loadCacheFile(engine: InferenceEngine, file: string, identity: CacheIdentity): Promise<LoadOutcome> {
  if (!existsSync(file)) return { outcome: "empty" };
  const decoded = decodeCacheFile(await readFile(file, "utf8"), identity);
  if ("problem" in decoded) return moveAside(file, decoded.problem);
  try {
    // The engine checks every id against the vocabulary before touching its tree.
    await engine.importSuffixState(decoded.state);
  } catch (err) {
    if (err instanceof GlimpseConfigError) return moveAside(file, err.message);
    throw err;
  }
  return { outcome: "loaded", documents: decoded.state.documents.length, responses: decoded.state.responses.length, legacy: decoded.legacy };
}

async function moveAside(file: string, problem: string): Promise<LoadOutcome> {
  const movedTo = `${file}.bad-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  await rename(file, movedTo);
  return { outcome: "moved", movedTo, problem };
}
