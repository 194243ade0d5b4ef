// Integrity reports: what the wasm checker found, in words. Codes, names and
// messages come from the module itself (assembly/integrity-codes.ts is their
// one table); the failing node is read from linear memory through the
// module's own record layout.

import type { SuffixRuntime } from "./runtime.js";

/** One invariant the checker verifies. */
export interface IntegrityCode {
  code: number;
  /** e.g. "CHILD_PARENT" */
  name: string;
  message: string;
}

/** The node where the checker found a broken invariant. */
export interface FailedNode {
  /** Its address in wasm memory, for debugging. */
  address: number;
  isRoot: boolean;
  token: number;
  count: number;
  length: number;
  /** First tokens of the nodes from the root down to this one; null when its parent chain does not reach the root. */
  path: number[] | null;
  /** Tokens from the root to the end of its run; null with `path`. */
  depth: number | null;
}

/** The first broken invariant and where. */
export interface IntegrityFailure extends IntegrityCode {
  node: FailedNode | null;
}

/** The code's name and message, from the module. */
export function describeIntegrityCode(rt: SuffixRuntime, code: number): IntegrityCode | null {
  const ptr = rt.exports.integrityCode(code);
  if (ptr === 0) return null;
  const text = rt.readString(ptr);
  const colon = text.indexOf(": ");
  return { code, name: text.slice(0, colon), message: text.slice(colon + 2) };
}

/** Every invariant the module checks, by code. */
export function integrityCodes(rt: SuffixRuntime): IntegrityCode[] {
  const out: IntegrityCode[] = [];
  for (let code = 1; ; code++) {
    const c = describeIntegrityCode(rt, code);
    if (!c) return out;
    out.push(c);
  }
}

/** Runs the checker on tree `handle`; null when every invariant holds. */
export function findIntegrityFailure(rt: SuffixRuntime, handle: number, maxDepth: number): IntegrityFailure | null {
  const code = rt.exports.treeCheckIntegrity(handle);
  if (code === 0) return null;
  const known = describeIntegrityCode(rt, code) ?? { code, name: "UNKNOWN", message: `unknown integrity failure ${code}` };
  return { ...known, node: readFailedNode(rt, handle, rt.exports.integrityFailedNode(), maxDepth) };
}

// The tree may be corrupt: every pointer is bounds-checked and the walk to
// the root is capped (a path has at most maxDepth nodes below the root).
function readFailedNode(rt: SuffixRuntime, handle: number, address: number, maxDepth: number): FailedNode | null {
  const layout = rt.layout;
  const view = new DataView(rt.exports.memory.buffer);
  const nodeSize = layout.get("Node")!;
  const valid = (p: number) => p > 0 && p % 4 === 0 && p + nodeSize <= view.byteLength;
  const field = (p: number, name: string) => view.getInt32(p + layout.get(`Node.${name}`)!, true);
  if (!valid(address)) return null;
  const root = view.getUint32(handle + layout.get("Tree.root")!, true);
  const node: FailedNode = {
    address,
    isRoot: address === root,
    token: field(address, "token"),
    count: field(address, "count"),
    length: field(address, "length"),
    path: null,
    depth: null,
  };
  const path: number[] = [];
  let depth = 0;
  for (let p = address, steps = 0; valid(p) && steps <= maxDepth + 1; steps++) {
    if (p === root) {
      node.path = path.reverse();
      node.depth = depth;
      break;
    }
    path.push(field(p, "token"));
    depth += field(p, "length");
    p = field(p, "parent") >>> 0;
  }
  return node;
}

/** "NAME (code N): message; at <node>" */
export function formatIntegrityFailure(f: IntegrityFailure): string {
  return `${f.name} (code ${f.code}): ${f.message}; at ${describeNode(f.node)}`;
}

function describeNode(n: FailedNode | null): string {
  if (!n) return "an unreadable node";
  if (n.isRoot) return `the root (count ${n.count})`;
  const what = `the node with first token ${n.token} (count ${n.count}, length ${n.length})`;
  if (!n.path) return `${what}, whose parent chain does not reach the root`;
  return `${what} at depth ${n.depth}, reached from the root through first tokens [${n.path.join(", ")}]`;
}
