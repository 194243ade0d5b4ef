// A suffix tree over many int32 token sequences, indexing every suffix up to
// `maxDepth` tokens, with path compression and per-node suffix counts.
//
// This file holds the tree record and its tables: edges, sequences, and
// freeing whole subtrees. Growing a sequence is in append.ts, dropping one in
// remove.ts; the tie order between equally frequent continuations follows
// ArcticInference's `csrc/suffix_decoding/suffix_tree.cc`.

import { HashMap, mapNew, mapFree, mapGet, mapSet, mapDelete, NOT_FOUND } from "./hashmap";
import { Node, Endpoint, Seq, allocNode, releaseNodeBlock, releaseEndpointBlock, setGroup } from "./nodes";
import { deleteEndpoint } from "./endpoints";

@unmanaged
export class Tree {
  maxDepth: i32;
  root: Node;
  edges: HashMap; // (parent, token) -> child
  seqs: HashMap; // seq id -> Seq
  firstSeq: Seq | null;
  numSeqs: i32;
}

// Smallest size of the edge table (the sequence table starts at 16).
export const MIN_TABLE: u32 = 64;

// ---- keys ----

@inline function edgeKey(parent: Node, token: i32): u64 {
  return (<u64>changetype<usize>(parent) << 32) | <u64><u32>token;
}
@inline function seqKey(seq: i32): u64 {
  return <u64><u32>seq;
}

// ---- edges ----

// A node finds a child through its sibling list (most frequent first) when
// it has at most this many children, and through the edge table when it has
// more. Only the children of such "wide" nodes are in the table: most nodes
// have one or two children, so most edges never cost a hash, a probe into a
// large table (a likely cache miss) or its memory, and a narrow node's
// children are read next anyway. A node's children enter the table when it
// gets its fifth child and leave it when it is down to four. Both ways give
// the same child (integrity.ts checks that list, table and child total
// agree).
export const SCAN_CHILDREN: i32 = 4;

@inline function isWide(node: Node): bool {
  return node.numChildren > SCAN_CHILDREN;
}

// The child for `token`, or null. Inlined: most calls take the short walk.
@inline export function getChild(t: Tree, node: Node, token: i32): Node | null {
  if (isWide(node)) return wideChild(t, node, token);
  let c = node.headChild;
  while (c) {
    if (c.token == token) return c;
    c = c.nextSibling;
  }
  return null;
}

function wideChild(t: Tree, node: Node, token: i32): Node | null {
  const v = mapGet(t.edges, edgeKey(node, token));
  return v == NOT_FOUND ? null : changetype<Node>(<usize>v);
}

// Adds `child` under `token` (it need not be in the sibling list yet).
@inline export function addChild(t: Tree, node: Node, token: i32, child: Node): void {
  node.numChildren++;
  if (isWide(node)) addWideChild(t, node, token, child);
}

function addWideChild(t: Tree, node: Node, token: i32, child: Node): void {
  if (node.numChildren == SCAN_CHILDREN + 1) {
    // Just became wide: the children so far enter the table too.
    let c = node.headChild;
    while (c) {
      mapSet(t.edges, edgeKey(node, c.token), <u32>changetype<usize>(c));
      c = c.nextSibling;
    }
  }
  mapSet(t.edges, edgeKey(node, token), <u32>changetype<usize>(child));
}

// Re-point an existing edge (numChildren unchanged).
@inline export function setChild(t: Tree, node: Node, token: i32, child: Node): void {
  if (isWide(node)) mapSet(t.edges, edgeKey(node, token), <u32>changetype<usize>(child));
}

// Removes the edge for `token`, which must exist (the child may still be in
// the sibling list).
@inline export function removeChild(t: Tree, node: Node, token: i32): void {
  if (isWide(node)) removeWideChild(t, node, token);
  else node.numChildren--;
}

function removeWideChild(t: Tree, node: Node, token: i32): void {
  mapDelete(t.edges, edgeKey(node, token));
  node.numChildren--;
  if (node.numChildren == SCAN_CHILDREN) {
    // No longer wide: the rest leave the table.
    let c = node.headChild;
    while (c) {
      mapDelete(t.edges, edgeKey(node, c.token));
      c = c.nextSibling;
    }
  }
}

// Table entries are keyed by parent: the integrity checker matches them
// against the wide nodes' children.
export function edgeParent(key: u64): Node {
  return changetype<Node>(<usize>(key >> 32));
}
export function edgeToken(key: u64): i32 {
  return <i32><u32>key;
}

// ---- nodes ----

// Free a node whose links to siblings and parent are already gone.
export function destroyNode(node: Node): void {
  while (node.endpoints) deleteEndpoint(node.endpoints!);
  setGroup(node, null);
  releaseNodeBlock(node);
}

// Free a whole subtree, iteratively (it may be deep). With `whole`, the
// whole tree is going: its endpoint records are already freed (treeDestroy)
// and its edge table goes with it, so neither is touched.
export function destroySubtree(t: Tree, top: Node, whole: bool = false): void {
  // Walk down first children, freeing leaves on the way back up.
  let node: Node | null = top;
  while (node) {
    const child = node.headChild;
    if (child) {
      // Detach the child from the list so the next visit sees the rest.
      node.headChild = child.nextSibling;
      if (!whole && isWide(node)) mapDelete(t.edges, edgeKey(node, child.token));
      node = child;
      continue;
    }
    const parent: Node | null = node === top ? null : node.parent;
    if (whole) {
      setGroup(node, null);
      releaseNodeBlock(node);
    } else {
      destroyNode(node);
    }
    node = parent;
  }
}

// ---- sequences ----

export function findSeq(t: Tree, id: i32): Seq | null {
  const v = mapGet(t.seqs, seqKey(id));
  return v == NOT_FOUND ? null : changetype<Seq>(<usize>v);
}

export function createSeq(t: Tree, id: i32): Seq {
  const s = changetype<Seq>(heap.alloc(offsetof<Seq>()));
  s.id = id;
  s.len = 0;
  s.cap = 16;
  s.data = heap.alloc(16 << 2);
  s.active = heap.alloc(<usize>t.maxDepth << 3);
  s.activeStart = 0;
  s.activeSize = 0;
  s.alone = 0;
  s.endpoints = null;
  s.prev = null;
  const first = t.firstSeq;
  s.next = first;
  if (first) first.prev = s;
  t.firstSeq = s;
  t.numSeqs++;
  mapSet(t.seqs, seqKey(id), <u32>changetype<usize>(s));
  return s;
}

export function destroySeq(t: Tree, s: Seq): void {
  while (s.endpoints) deleteEndpoint(s.endpoints!);
  const prev = s.prev;
  const next = s.next;
  if (prev) prev.next = next;
  else t.firstSeq = next;
  if (next) next.prev = prev;
  t.numSeqs--;
  mapDelete(t.seqs, seqKey(s.id));
  heap.free(s.data);
  if (s.active) heap.free(s.active);
  heap.free(changetype<usize>(s));
}

// Frees what only growing a sequence needs, its ring of active records, for
// a sequence that will not grow again (a finished response in the global
// tree). Its records stay where they are; the tree is unchanged.
export function finishSeq(s: Seq): void {
  if (!s.active) return;
  heap.free(s.active);
  s.active = 0;
  s.activeStart = 0;
  s.activeSize = 0;
  s.alone = 0;
}

// Address of the i-th active slot (0 = oldest) in the ring buffer: the
// record at +0 and, at +4, the node it sits at (kept equal to its `node` by
// append.ts, the only code that moves active records).
@inline export function activeSlot(t: Tree, s: Seq, i: i32): usize {
  let k = s.activeStart + i;
  if (k >= t.maxDepth) k -= t.maxDepth;
  return s.active + (<usize>k << 3);
}

// The node where the i-th active suffix (0 = oldest) ends.
@inline export function activeNode(t: Tree, s: Seq, i: i32): Node {
  return changetype<Node>(load<usize>(activeSlot(t, s, i), 4));
}

// Of the `alone` oldest active suffixes once alone at their node (Seq.alone),
// how many still are. Another sequence joining one also joins every younger
// one (a shorter suffix occurs at least as often), so checking the youngest
// is enough.
export function stillAlone(t: Tree, s: Seq, alone: i32): i32 {
  while (alone > 0 && activeNode(t, s, alone - 1).count != 1) alone--;
  return alone;
}

// ---- tree ----

export function treeCreate(maxDepth: i32): Tree {
  const t = changetype<Tree>(heap.alloc(offsetof<Tree>()));
  t.maxDepth = maxDepth;
  t.root = allocNode(0, 0, 0, null, -1);
  t.edges = mapNew(MIN_TABLE);
  t.seqs = mapNew(16);
  t.firstSeq = null;
  t.numSeqs = 0;
  return t;
}

export function treeDestroy(t: Tree): void {
  // Endpoint records first, each sequence's in the order they were made (its
  // list runs newest first, the free list is a stack): the next trees take
  // them back in that order, so records made one after another lie side by
  // side again, as they did here, instead of in the order of a walk over the
  // nodes. Nothing needs unlinking.
  let s = t.firstSeq;
  while (s) {
    let e = s.endpoints;
    while (e) {
      const next = e.seqNext;
      releaseEndpointBlock(e);
      e = next;
    }
    s.endpoints = null;
    s = s.next;
  }
  destroySubtree(t, t.root, true);
  while (t.firstSeq) destroySeq(t, t.firstSeq!);
  mapFree(t.edges);
  mapFree(t.seqs);
  heap.free(changetype<usize>(t));
}
