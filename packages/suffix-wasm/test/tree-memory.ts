// Test-only access to a tree's records in wasm memory, by field name from the
// module's own layout (assembly/layout.ts), so tests can corrupt a real tree
// on purpose. Every write is logged and restore() undoes them all, so a
// corrupted tree can be put back and freed safely afterwards.
import type { SuffixRuntime } from "../src/index.js";

type RecordName = "Tree" | "Node" | "Group" | "Endpoint" | "Seq";

export class TreeMemory {
  private readonly undo: { addr: number; old: number }[] = [];

  constructor(readonly runtime: SuffixRuntime, readonly handle: number) {}

  private offset(field: `${RecordName}.${string}`): number {
    const off = this.runtime.layout.get(field);
    if (off === undefined) throw new Error(`no field ${field} in the module's layout`);
    return off;
  }

  private view(): DataView {
    return new DataView(this.runtime.exports.memory.buffer);
  }

  /** The 4-byte field `field` of the record at `ptr` (test memories stay far below 2 GiB, so pointers read fine as i32). */
  get(ptr: number, field: `${RecordName}.${string}`): number {
    if (ptr === 0) throw new Error(`reading ${field} through a null pointer`);
    return this.view().getInt32(ptr + this.offset(field), true);
  }

  set(ptr: number, field: `${RecordName}.${string}`, value: number): void {
    const addr = ptr + this.offset(field);
    this.undo.push({ addr, old: this.view().getInt32(addr, true) });
    this.view().setInt32(addr, value | 0, true);
  }

  /** Undoes every write, newest first. */
  restore(): void {
    for (let e = this.undo.pop(); e; e = this.undo.pop()) this.view().setInt32(e.addr, e.old, true);
  }

  get root(): number {
    return this.get(this.handle, "Tree.root");
  }

  children(node: number): number[] {
    const out: number[] = [];
    for (let c = this.get(node, "Node.headChild"); c !== 0; c = this.get(c, "Node.nextSibling")) out.push(c);
    return out;
  }

  /** Every node, parents before children. */
  nodes(): number[] {
    const out = [this.root];
    for (let i = 0; i < out.length; i++) out.push(...this.children(out[i]));
    return out;
  }

  endpoints(node: number): number[] {
    const out: number[] = [];
    for (let e = this.get(node, "Node.endpoints"); e !== 0; e = this.get(e, "Endpoint.next")) out.push(e);
    return out;
  }

  /** Token `i` of the sequence record at `seq`. */
  seqToken(seq: number, i: number): number {
    return this.view().getInt32(this.get(seq, "Seq.data") + 4 * i, true);
  }

  /** First tokens of the nodes from the root down to `node`. */
  path(node: number): number[] {
    const out: number[] = [];
    for (let n = node; n !== this.root; n = this.get(n, "Node.parent")) out.unshift(this.get(n, "Node.token"));
    return out;
  }
}
