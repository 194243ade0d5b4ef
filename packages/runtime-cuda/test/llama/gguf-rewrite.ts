// Metadata-only GGUF files for the description tests: a converted file's
// key-value metadata (read by node-llama-cpp) written again with some keys
// changed, and no tensors. llama.cpp loads such a file with `vocabOnly`,
// which is enough to tokenize with it; the unsupported cases need no more.

import { writeFileSync } from "node:fs";
import { readGgufFileInfo } from "node-llama-cpp";

const enum T {
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
}

type Value = string | number | boolean | bigint | Value[];

/** Flattens node-llama-cpp's nested metadata back into dotted keys. */
function flatten(node: Record<string, unknown>, prefix = "", out: Record<string, Value> = {}): Record<string, Value> {
  for (const [k, v] of Object.entries(node)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else out[key] = v as Value;
  }
  return out;
}

// llama.cpp checks value types: these keys are float32, token types int32, other numbers uint32
const isFloatKey = (key: string) => /(epsilon|freq_base|factor|scale)$/.test(key);

class Out {
  private readonly parts: Buffer[] = [];
  raw(b: Buffer) {
    this.parts.push(b);
  }
  u32(n: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    this.parts.push(b);
  }
  u64(n: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    this.parts.push(b);
  }
  str(s: string) {
    const bytes = Buffer.from(s, "utf8");
    this.u64(bytes.length);
    this.raw(bytes);
  }
  scalar(type: T, v: Value) {
    const b = Buffer.alloc(type === T.BOOL ? 1 : 4);
    if (type === T.UINT32) b.writeUInt32LE(Number(v));
    else if (type === T.INT32) b.writeInt32LE(Number(v));
    else if (type === T.FLOAT32) b.writeFloatLE(Number(v));
    else b.writeUInt8(v ? 1 : 0);
    this.parts.push(b);
  }
  get length() {
    return this.parts.reduce((n, p) => n + p.length, 0);
  }
  bytes() {
    return Buffer.concat(this.parts);
  }
}

function typeOf(key: string, v: Value): T {
  if (typeof v === "string") return T.STRING;
  if (typeof v === "boolean") return T.BOOL;
  if (Array.isArray(v)) return T.ARRAY;
  return isFloatKey(key) ? T.FLOAT32 : T.UINT32;
}

function writeValue(out: Out, key: string, v: Value): void {
  const type = typeOf(key, v);
  out.u32(type);
  if (type === T.STRING) return out.str(v as string);
  if (type !== T.ARRAY) return out.scalar(type, v);
  const items = v as Value[];
  const elem = key.endsWith("token_type") ? T.INT32 : typeOf(key, items[0] ?? "");
  out.u32(elem);
  out.u64(items.length);
  for (const item of items) {
    if (elem === T.STRING) out.str(item as string);
    else out.scalar(elem, item);
  }
}

/**
 * Writes `to`: the metadata of `from` with `changes` applied (a key set to
 * undefined is left out) and no tensors.
 */
export async function rewriteGguf(from: string, to: string, changes: Record<string, Value | undefined>): Promise<void> {
  const info = await readGgufFileInfo(from, { readTensorInfo: false, logWarnings: false });
  const kv: Record<string, Value | undefined> = { ...flatten(info.metadata as unknown as Record<string, unknown>), ...changes };
  const entries = Object.entries(kv).filter((e): e is [string, Value] => e[1] !== undefined);
  const out = new Out();
  out.raw(Buffer.from("GGUF", "ascii"));
  out.u32(3); // GGUF version
  out.u64(0); // tensors
  out.u64(entries.length);
  for (const [key, value] of entries) {
    out.str(key);
    writeValue(out, key, value);
  }
  const align = 32;
  const pad = (align - (out.length % align)) % align;
  writeFileSync(to, Buffer.concat([out.bytes(), Buffer.alloc(pad)]));
}
