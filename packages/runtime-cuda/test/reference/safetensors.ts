// A safetensors reader written from the format's spec, for the reference forward pass: an 8-byte
// little-endian header length N, N bytes of JSON ({name: {dtype, shape, data_offsets: [begin, end]}},
// plus an optional "__metadata__"), then the raw little-endian tensor bytes, offsets relative to the
// byte right after the header. A sharded checkpoint lists which file holds each tensor in
// model.safetensors.index.json ("weight_map"). Every tensor comes back as a Float32Array.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES: Record<string, number> = { BF16: 2, F16: 2, F32: 4 };

/** IEEE half precision to a JS number (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decode(bytes: Buffer, dtype: string, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === "F32") {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (dtype === "BF16") {
    // bfloat16 is the upper half of a float32: shift it back into place.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  } else {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  }
  return out;
}

/** Every tensor of one .safetensors file. */
export function readSafetensorsFile(path: string): Map<string, Tensor> {
  const file = readFileSync(path);
  const headerLen = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLen).toString("utf8")) as Record<string, HeaderEntry | Record<string, string>>;
  const base = 8 + headerLen;
  const tensors = new Map<string, Tensor>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const e = raw as HeaderEntry;
    const width = BYTES[e.dtype];
    if (width === undefined) throw new Error(`${path}: tensor ${name} has dtype ${e.dtype}; the reference reads BF16, F16 and F32`);
    const count = e.shape.reduce((a, b) => a * b, 1);
    const [begin, end] = e.data_offsets;
    if (end - begin !== count * width) throw new Error(`${path}: tensor ${name} spans ${end - begin} bytes, expected ${count * width}`);
    tensors.set(name, { shape: e.shape, data: decode(file.subarray(base + begin, base + end), e.dtype, count) });
  }
  return tensors;
}

/** Every tensor of a checkpoint folder: model.safetensors, or the shards its index names. */
export function readCheckpoint(dir: string): Map<string, Tensor> {
  const index = join(dir, "model.safetensors.index.json");
  if (!existsSync(index)) return readSafetensorsFile(join(dir, "model.safetensors"));
  const weightMap = (JSON.parse(readFileSync(index, "utf8")) as { weight_map: Record<string, string> }).weight_map;
  const tensors = new Map<string, Tensor>();
  for (const file of new Set(Object.values(weightMap))) {
    for (const [name, t] of readSafetensorsFile(join(dir, file))) {
      if (weightMap[name] === file) tensors.set(name, t);
    }
  }
  const missing = Object.keys(weightMap).filter((n) => !tensors.has(n));
  if (missing.length > 0) throw new Error(`${dir}: the index names tensors no shard holds: ${missing.slice(0, 5).join(", ")}`);
  return tensors;
}
