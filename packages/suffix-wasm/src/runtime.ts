// Loading the WebAssembly module and moving token arrays in and out of its
// memory. One runtime (one wasm instance) can hold any number of trees.

import { embeddedWasmBytes } from "./base64.js";
import type { Draft } from "./draft.js";

/** The raw exports of `build/suffix_tree.wasm` (see assembly/index.ts). */
export interface SuffixWasmExports {
  memory: WebAssembly.Memory;
  ioReserve(n: number): number;
  treeNew(maxDepth: number): number;
  treeFree(tree: number): void;
  treeExtend(tree: number, seqId: number, n: number): void;
  /** Appends the I/O buffer's `n` tokens to `localSeq` of `local` and (when `global` is not 0) `globalSeq` of `global`. */
  cacheExtend(local: number, localSeq: number, global: number, globalSeq: number, n: number): void;
  treeAppend(tree: number, seqId: number, token: number): void;
  /** Sequence `seqId` will not grow again: frees what only growing needs (extending it afterwards throws). */
  treeFinish(tree: number, seqId: number): void;
  treeRemove(tree: number, seqId: number): number;
  treeSeqLength(tree: number, seqId: number): number;
  treeNumSeqs(tree: number): number;
  treeSpeculate(
    tree: number, ctxLen: number, maxSpecTokens: number, maxSpecFactor: number,
    maxSpecOffset: number, minTokenProb: number, useTreeSpec: number,
  ): number;
  cacheSpeculate(
    local: number, global: number, ctxLen: number, maxSpecTokens: number, maxSpecFactor: number,
    maxSpecOffset: number, minTokenProb: number, useTreeSpec: number,
  ): number;
  /** cacheSpeculate for a context continuing `localSeq` of `local` and `globalSeq` of `global` (a hint: any context is answered correctly). */
  cacheSpeculateSeqs(
    local: number, localSeq: number, global: number, globalSeq: number, ctxLen: number, maxSpecTokens: number,
    maxSpecFactor: number, maxSpecOffset: number, minTokenProb: number, useTreeSpec: number,
  ): number;
  /** Address of the last draft's record: size, tokens, parents, probs (i32 addresses), score (f32), matchLen. */
  draftResult(): number;
  draftTokens(): number;
  draftParents(): number;
  draftProbs(): number;
  draftScore(): number;
  draftMatchLen(): number;
  treeCheckIntegrity(tree: number): number;
  integrityFailedNode(): number;
  /** Address of the string "NAME: message" for an integrity code; 0 when there is none. */
  integrityCode(code: number): number;
  /** Address of the record layout: a u32 byte length, then ASCII text. */
  recordLayout(): number;
  treeMemoryBytes(tree: number): number;
  pooledBytes(): number;
}

/** Where to get the module from; by default the copy embedded in this package. */
export type WasmSource =
  | { bytes: BufferSource }
  | { url: string | URL }
  | { module: WebAssembly.Module };

// Token arrays up to this long are copied into wasm memory element by element.
const SMALL_COPY = 256;
// Drafts up to this long are read into new on-heap arrays (16 int32s = 64 bytes).
const SMALL_DRAFT = 16;

export class SuffixRuntime {
  readonly exports: SuffixWasmExports;
  private i32: Int32Array;
  private f32: Float32Array;
  private fieldOffsets: ReadonlyMap<string, number> | undefined;
  // The I/O buffer (int32 index, capacity known to the host) and the draft
  // record, so the hot paths make no calls just to find them.
  private ioIndex = 0;
  private ioCapacity = 0;
  private readonly result: number;

  constructor(instance: WebAssembly.Instance) {
    this.exports = instance.exports as unknown as SuffixWasmExports;
    this.i32 = new Int32Array(this.exports.memory.buffer);
    this.f32 = new Float32Array(this.exports.memory.buffer);
    this.result = this.exports.draftResult() >>> 2;
  }

  /** Bytes of linear memory the instance holds (it grows, never shrinks). */
  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  /** Bytes parked in free lists, ready to be reused by new nodes. */
  get pooledBytes(): number {
    return this.exports.pooledBytes();
  }

  // Views go stale when memory grows (the old buffer is detached, so they
  // read as empty); refresh them lazily.
  private views(): void {
    if (this.i32.length === 0) {
      this.i32 = new Int32Array(this.exports.memory.buffer);
      this.f32 = new Float32Array(this.exports.memory.buffer);
    }
  }

  /**
   * Writes `tokens` (already validated) into the I/O buffer, returning the
   * count. Typed arrays go in with one memcpy-like `set`.
   */
  writeTokens(tokens: ArrayLike<number>, start = 0, end = tokens.length): number {
    const n = end - start;
    if (n > this.ioCapacity) {
      this.ioIndex = this.exports.ioReserve(n) >>> 2;
      this.ioCapacity = n;
    }
    const ptr = this.ioIndex;
    this.views();
    if (n > SMALL_COPY && ArrayBuffer.isView(tokens)) {
      const typed = tokens as Int32Array;
      this.i32.set(start === 0 && end === typed.length ? typed : typed.subarray(start, end), ptr);
    } else {
      // A short copy in a loop beats creating a subarray view to set() from
      // (speculation copies at most maxTreeDepth + 1 tokens per call).
      const view = this.i32;
      for (let i = 0; i < n; i++) view[ptr + i] = tokens[start + i];
    }
    return n;
  }

  /** Copies out the draft left by the last speculate call (`size` tokens). */
  readDraft(size: number): Draft {
    this.views();
    const i32 = this.i32;
    const f32 = this.f32;
    const r = this.result;
    const t = i32[r + 1] >>> 2;
    const p = i32[r + 2] >>> 2;
    const q = i32[r + 3] >>> 2;
    let tokenIds: Int32Array;
    let parents: Int32Array;
    let probs: Float32Array;
    if (size <= SMALL_DRAFT) {
      // Arrays this small live on the JS heap (V8 keeps typed arrays of up
      // to 64 bytes there); new + a loop beats slice() on them.
      tokenIds = new Int32Array(size);
      parents = new Int32Array(size);
      probs = new Float32Array(size);
      for (let i = 0; i < size; i++) {
        tokenIds[i] = i32[t + i];
        parents[i] = i32[p + i];
        probs[i] = f32[q + i];
      }
    } else {
      tokenIds = i32.slice(t, t + size);
      parents = i32.slice(p, p + size);
      probs = f32.slice(q, q + size);
    }
    return { tokenIds, parents, probs, score: f32[r + 4], matchLen: i32[r + 5] };
  }

  readInt32(ptr: number, n: number): Int32Array {
    this.views();
    return this.i32.slice(ptr >>> 2, (ptr >>> 2) + n);
  }

  readFloat32(ptr: number, n: number): Float32Array {
    this.views();
    return this.f32.slice(ptr >>> 2, (ptr >>> 2) + n);
  }

  /** Reads the AssemblyScript string at `ptr`. */
  readString(ptr: number): string {
    return readAsString(this.exports.memory, ptr);
  }

  /**
   * Byte offsets of the wasm records' fields ("Node.parent") and sizes
   * ("Node"), as the module itself reports them (assembly/layout.ts): for
   * code that reads trees in linear memory, such as integrity reports.
   */
  get layout(): ReadonlyMap<string, number> {
    if (!this.fieldOffsets) {
      const ptr = this.exports.recordLayout();
      const view = new DataView(this.exports.memory.buffer);
      const map = new Map<string, number>();
      let text = "";
      for (let i = 0, n = view.getUint32(ptr, true); i < n; i++) text += String.fromCharCode(view.getUint8(ptr + 4 + i));
      for (const entry of text.trim().split(" ")) {
        const [name, offset] = entry.split("=");
        map.set(name, Number(offset));
      }
      this.fieldOffsets = map;
    }
    return this.fieldOffsets;
  }
}

/** Decodes an AssemblyScript string: UTF-16 code units, byte length at ptr - 4. */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  const view = new DataView(memory.buffer);
  const bytes = view.getUint32(ptr - 4, true);
  let out = "";
  for (let i = 0; i < bytes; i += 2) out += String.fromCharCode(view.getUint16(ptr + i, true));
  return out;
}

// The module's one import, AssemblyScript's abort: raised by a failed
// assert() (only the debug build keeps them) or by running out of memory.
// Its message and file name live in the instance's memory, bound once the
// instance exists.
function importsFor(instance: () => WebAssembly.Instance | undefined): WebAssembly.Imports {
  return {
    env: {
      abort(msg: number, file: number, line: number, col: number): never {
        const memory = instance()?.exports.memory as WebAssembly.Memory | undefined;
        const text = (ptr: number) => (memory && ptr ? readAsString(memory, ptr) : "?");
        throw new Error(`suffix-wasm: internal assertion failed: ${text(msg)} (${text(file)}:${line}:${col})`);
      },
    },
  };
}

let embeddedModule: WebAssembly.Module | undefined;

function embedded(): WebAssembly.Module {
  embeddedModule ??= new WebAssembly.Module(embeddedWasmBytes() as BufferSource);
  return embeddedModule;
}

/**
 * Synchronously instantiates a runtime from the embedded module. Works in
 * Node and in workers; on a browser's main thread prefer `loadSuffixRuntime`.
 */
export function createSuffixRuntime(): SuffixRuntime {
  const instance: WebAssembly.Instance = new WebAssembly.Instance(embedded(), importsFor(() => instance));
  return new SuffixRuntime(instance);
}

/** Asynchronously instantiates a runtime from bytes, a URL, a module, or the embedded copy. */
export async function loadSuffixRuntime(source?: WasmSource): Promise<SuffixRuntime> {
  let module: WebAssembly.Module;
  if (!source) module = embedded();
  else if ("module" in source) module = source.module;
  else if ("bytes" in source) module = await WebAssembly.compile(source.bytes);
  else {
    const response = await fetch(source.url);
    if (!response.ok) throw new Error(`suffix-wasm: fetching ${String(source.url)} failed with HTTP ${response.status}`);
    module = await WebAssembly.compile(await response.arrayBuffer());
  }
  const instance: WebAssembly.Instance = await WebAssembly.instantiate(module, importsFor(() => instance));
  return new SuffixRuntime(instance);
}

let shared: SuffixRuntime | undefined;

/** The runtime used when none is given: created on first use, shared by all trees. */
export function defaultRuntime(): SuffixRuntime {
  shared ??= createSuffixRuntime();
  return shared;
}
