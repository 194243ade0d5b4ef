// Walks over a whole tree: the integrity checker, which verifies every
// invariant the tree relies on and returns the code of the first broken one
// (Check.OK when all hold, codes in integrity-codes.ts) with the failing node
// in `failedNode`; and the memory report. Both are for tests and reports,
// never on the hot path.

import { HashMap, mapNew, mapFree, mapGet, mapSet, mapBytes, mapCapacity, mapKeyAt, mapValueAt, EMPTY } from "./hashmap";
import { Node, Group, Endpoint, Seq, seqToken } from "./nodes";
import { Tree, getChild, findSeq, SCAN_CHILDREN, edgeParent, edgeToken } from "./tree";
import { hasEndpoint } from "./endpoints";
import { Check } from "./integrity-codes";

// A sequence pointer is live when the tree maps its id back to it.
function isLive(t: Tree, s: Seq | null): bool {
  return s != null && findSeq(t, s.id) === s;
}

// Node of the first failure, for the host's report (0 before any).
export let failedNode: usize = 0;

function fail(code: i32, node: Node): i32 {
  failedNode = changetype<usize>(node);
  return code;
}

// Iterative traversal helper: a growable stack of node pointers.
let stackBuf: usize = 0;
let stackCap: i32 = 0;
let stackLen: i32 = 0;

function push(n: Node): void {
  if (stackLen == stackCap) {
    const cap = stackCap == 0 ? 1024 : stackCap << 1;
    const buf = heap.alloc(<usize>cap << 2);
    if (stackBuf) {
      memory.copy(buf, stackBuf, <usize>stackLen << 2);
      heap.free(stackBuf);
    }
    stackBuf = buf;
    stackCap = cap;
  }
  store<usize>(stackBuf + (<usize>stackLen << 2), changetype<usize>(n));
  stackLen++;
}

function pop(): Node {
  stackLen--;
  return changetype<Node>(load<usize>(stackBuf + (<usize>stackLen << 2)));
}

function checkEndpoint(t: Tree, node: Node, e: Endpoint): bool {
  const s = e.seq;
  if (!s || !isLive(t, s)) return false;
  if (e.idx <= 0 || e.idx > s.len) return false;
  if (e.node !== node) return false;
  let n: Node | null = node;
  let idx = e.idx;
  while (n) {
    if (n.length > idx) return false;
    idx -= n.length;
    if (n.length > 0) {
      const ref = n.ref;
      if (!ref || !isLive(t, ref)) return false;
      for (let i = 0; i < n.length; i++) {
        if (seqToken(s, idx + i) != seqToken(ref, n.refIdx + i)) return false;
      }
    }
    n = n.parent;
  }
  return true;
}

function checkNode(t: Tree, node: Node): i32 {
  const isRoot = node === t.root;
  if (isRoot) {
    if (node.parent || node.length != 0 || node.endpoints || node.ref || node.count < 0) {
      return fail(Check.ROOT_SHAPE, node);
    }
  } else {
    if (node.length <= 0 || node.count <= 0) return fail(Check.NODE_EMPTY, node);
    const ref = node.ref;
    if (!ref || !isLive(t, ref) || node.refIdx < 0 || node.refIdx + node.length > ref.len) return fail(Check.BAD_REF, node);
    if (node.token != seqToken(ref, node.refIdx)) return fail(Check.BAD_FIRST_TOKEN, node);
    if (getChild(t, node.parent!, node.token) !== node) return fail(Check.NOT_IN_PARENT, node);
    let e = node.endpoints;
    while (e) {
      if (!checkEndpoint(t, node, e)) return fail(Check.BAD_ENDPOINT, node);
      e = e.next;
    }
  }
  // Sibling list, order and groups.
  const head = node.headChild;
  const tail = node.tailChild;
  if (!head || !tail) {
    if (head || tail || node.numChildren != 0) return fail(Check.SIBLING_LINKS, node);
    return Check.OK;
  }
  if (head.prevSibling || tail.nextSibling) return fail(Check.SIBLING_LINKS, node);
  let seen = 0;
  let sum: i64 = 0;
  let prev: Node | null = null;
  let child: Node | null = head;
  while (child) {
    seen++;
    sum += child.count;
    if (child.parent !== node) return fail(Check.CHILD_PARENT, child);
    if (!isRoot && child.count >= node.count) return fail(Check.CHILD_COUNT_NOT_LESS, child);
    const g = child.group;
    if (!g) return fail(Check.GROUP_LINKS, child);
    if (prev) {
      if (child.prevSibling !== prev || prev.nextSibling !== child) return fail(Check.SIBLING_LINKS, child);
      if (child.count > prev.count) return fail(Check.SIBLING_ORDER, child);
      const pg = prev.group!;
      if (child.count == prev.count) {
        if (g !== pg) return fail(Check.GROUP_LINKS, child);
      } else {
        if (g === pg || g.head !== child || g.prev !== pg || pg.next !== g) return fail(Check.GROUP_LINKS, child);
      }
    } else {
      if (g.head !== child || g.prev) return fail(Check.GROUP_LINKS, child);
    }
    prev = child;
    child = child.nextSibling;
  }
  if (prev !== tail || tail.group!.next) return fail(Check.SIBLING_LINKS, node);
  if (seen != node.numChildren) return fail(Check.CHILD_TOTAL, node);
  if (sum > <i64>node.count) return fail(Check.CHILDREN_SUM, node);
  // Each child is found by its token (through the list or the edge table:
  // checked once the child total is known good, as it picks the way).
  child = head;
  while (child) {
    if (getChild(t, node, child.token) !== child) return fail(Check.NOT_IN_PARENT, child);
    child = child.nextSibling;
  }
  if (node.numChildren > SCAN_CHILDREN) tableEdges += node.numChildren;
  return Check.OK;
}

// Edges the table must hold: the children of nodes with more than
// SCAN_CHILDREN children (see tree.ts), summed by checkNode.
let tableEdges: u32 = 0;

// The edge table holds nothing but the wide nodes' children: with each of
// those found (checkNode), any further entry is stale. Reported at the
// child it names, or the root when that child looks right.
function checkTableSize(t: Tree): i32 {
  if (t.edges.size == tableEdges) return Check.OK;
  for (let i: u32 = 0, n = mapCapacity(t.edges); i < n; i++) {
    const key = mapKeyAt(t.edges, i);
    if (key == EMPTY) continue;
    const parent = edgeParent(key);
    const child = changetype<Node>(<usize>mapValueAt(t.edges, i));
    if (parent.numChildren <= SCAN_CHILDREN || child.parent !== parent || child.token != edgeToken(key)) {
      return fail(Check.NOT_IN_PARENT, child);
    }
  }
  return fail(Check.NOT_IN_PARENT, t.root);
}

export function checkIntegrity(t: Tree): i32 {
  failedNode = 0;
  tableEdges = 0;
  // 1. Structure of every node.
  stackLen = 0;
  push(t.root);
  while (stackLen > 0) {
    const node = pop();
    const code = checkNode(t, node);
    if (code != Check.OK) return code;
    let c = node.headChild;
    while (c) {
      push(c);
      c = c.nextSibling;
    }
  }
  const tableCode = checkTableSize(t);
  if (tableCode != Check.OK) return tableCode;
  // 2. Every stored suffix (up to maxDepth tokens) is findable, and ends at
  //    a node holding its endpoint; count the visits on the way.
  const visits: HashMap = mapNew(1024);
  let s = t.firstSeq;
  let code = Check.OK;
  while (s && code == Check.OK) {
    for (let start = 0; start < s.len && code == Check.OK; start++) {
      let idx = start;
      let node = t.root;
      bump(visits, node);
      while (idx < s.len && idx - start < t.maxDepth) {
        const child = getChild(t, node, seqToken(s, idx));
        if (!child) { code = fail(Check.SUFFIX_MISSING, node); break; }
        node = child;
        bump(visits, node);
        if (idx + node.length > s.len) { code = fail(Check.SUFFIX_MISSING, node); break; }
        const ref = node.ref!;
        for (let i = 0; i < node.length; i++) {
          if (seqToken(s, idx + i) != seqToken(ref, node.refIdx + i)) { code = fail(Check.SUFFIX_MISSING, node); break; }
        }
        if (code != Check.OK) break;
        idx += node.length;
      }
      if (code == Check.OK && !hasEndpoint(node, s)) code = fail(Check.SUFFIX_MISSING, node);
    }
    s = s.next;
  }
  // 3. Counts equal the number of suffixes through each node.
  if (code == Check.OK) {
    stackLen = 0;
    push(t.root);
    while (stackLen > 0) {
      const node = pop();
      const v = mapGet(visits, changetype<usize>(node));
      if (<i32>v != node.count) { code = fail(Check.COUNT_MISMATCH, node); break; }
      let c = node.headChild;
      while (c) {
        push(c);
        c = c.nextSibling;
      }
    }
  }
  mapFree(visits);
  return code;
}

// Visits are stored as value = count (NOT_FOUND == 0 doubles as "none yet").
function bump(visits: HashMap, node: Node): void {
  const key = <u64>changetype<usize>(node);
  mapSet(visits, key, mapGet(visits, key) + 1);
}

// Bytes held by the tree: nodes, groups, endpoints, tables and sequences.
export function memoryBytes(t: Tree): usize {
  let total: usize = offsetof<Tree>() + mapBytes(t.edges) + mapBytes(t.seqs);
  stackLen = 0;
  push(t.root);
  while (stackLen > 0) {
    const node = pop();
    total += offsetof<Node>();
    let e = node.endpoints;
    while (e) {
      total += offsetof<Endpoint>();
      e = e.next;
    }
    let c = node.headChild;
    // Each group is counted once, at its head.
    while (c) {
      if (c.group!.head === c) total += offsetof<Group>();
      push(c);
      c = c.nextSibling;
    }
  }
  let s = t.firstSeq;
  while (s) {
    total += offsetof<Seq>() + (<usize>s.cap << 2) + (s.active ? <usize>t.maxDepth << 3 : 0);
    s = s.next;
  }
  return total;
}

