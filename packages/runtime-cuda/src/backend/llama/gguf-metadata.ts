// A GGUF file's key-value metadata and tensor names, read by node-llama-cpp
// (the optional dependency that runs GGUF files anyway), with typed getters
// that name the missing or mistyped key in their errors.

import { ModelLoadError } from "../../errors.js";

/** The part of node-llama-cpp's readGgufFileInfo result used here. */
interface GgufFileInfoLike {
  metadata: unknown;
  tensorInfo?: readonly { name: string }[];
}

interface NodeLlamaCppGguf {
  readGgufFileInfo(path: string, options?: { readTensorInfo?: boolean; logWarnings?: boolean }): Promise<GgufFileInfoLike>;
}

export const SETUP_LLAMA_HINT = "install the optional node-llama-cpp with `npm run setup:llama` at the repository root";

/** node-llama-cpp, or one clear error naming `npm run setup:llama` when it is not installed. */
async function importGgufReader(file: string): Promise<NodeLlamaCppGguf> {
  const specifier = "node-llama-cpp"; // a variable: the package is optional, so tsc must not resolve it
  try {
    return (await import(specifier)) as NodeLlamaCppGguf;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new ModelLoadError(`${file} is a GGUF file, which runs on llama.cpp: ${SETUP_LLAMA_HINT}`);
    }
    throw err;
  }
}

export class GgufMetadata {
  private constructor(
    readonly file: string,
    private readonly root: Record<string, unknown>,
    readonly tensorNames: ReadonlySet<string>,
  ) {}

  static async read(file: string): Promise<GgufMetadata> {
    const { readGgufFileInfo } = await importGgufReader(file);
    let info: GgufFileInfoLike;
    try {
      info = await readGgufFileInfo(file, { readTensorInfo: true, logWarnings: false });
    } catch (err) {
      throw new ModelLoadError(`${file} is not a readable GGUF file: ${(err as Error).message}`);
    }
    const root = info.metadata !== null && typeof info.metadata === "object" ? (info.metadata as Record<string, unknown>) : {};
    return new GgufMetadata(file, root, new Set((info.tensorInfo ?? []).map((t) => t.name)));
  }

  /** The value of a dotted key ("llama.attention.head_count"), or undefined. */
  get(key: string): unknown {
    let node: unknown = this.root;
    for (const part of key.split(".")) {
      if (node === null || typeof node !== "object" || Array.isArray(node)) return undefined;
      node = (node as Record<string, unknown>)[part];
    }
    return node;
  }

  private fail(key: string, what: string): never {
    throw new ModelLoadError(`${this.file}: GGUF metadata key "${key}" ${what}`);
  }

  /** A whole number (GGUF's u64 values arrive as bigint). */
  int(key: string): number | undefined;
  int(key: string, required: true): number;
  int(key: string, required = false): number | undefined {
    const v = this.get(key);
    if (v === undefined) return required ? this.fail(key, "is missing") : undefined;
    const n = typeof v === "bigint" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n)) this.fail(key, `must be an integer, found ${JSON.stringify(String(v))}`);
    return n;
  }

  /** A float32 value as the shortest decimal that reads back to the same float32 (1e-6, not 9.99999997e-7). */
  float(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== "number") this.fail(key, "must be a number");
    return shortestFloat32(v);
  }

  string(key: string): string | undefined;
  string(key: string, required: true): string;
  string(key: string, required = false): string | undefined {
    const v = this.get(key);
    if (v === undefined) return required ? this.fail(key, "is missing") : undefined;
    if (typeof v !== "string") this.fail(key, "must be a string");
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") this.fail(key, "must be a boolean");
    return v;
  }

  strings(key: string, required: true): string[];
  strings(key: string): string[] | undefined;
  strings(key: string, required = false): string[] | undefined {
    const v = this.get(key);
    if (v === undefined) return required ? this.fail(key, "is missing") : undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) this.fail(key, "must be an array of strings");
    return v as string[];
  }

  ints(key: string): number[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) this.fail(key, "must be an array of integers");
    return v.map((x) => (typeof x === "bigint" ? Number(x) : (x as number)));
  }
}

/** The shortest decimal whose float32 rounding is `x` (GGUF stores hyperparameters as float32). */
export function shortestFloat32(x: number): number {
  if (!Number.isFinite(x) || Math.fround(x) !== x) return x;
  for (let digits = 1; digits <= 9; digits++) {
    const d = Number(x.toPrecision(digits));
    if (Math.fround(d) === x) return d;
  }
  return x;
}
