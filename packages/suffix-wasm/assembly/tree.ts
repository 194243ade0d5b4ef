// A suffix tree over many int32 token sequences, indexing every suffix up to
// `maxDepth` tokens, with path compression and per-node suffix counts.
//
// This file holds the tree record and its tables: edges, sequences, and
// freeing whole subtrees. Growing a sequence is in append.ts, dropping one in
// remove.ts; the tie order between equally frequent continuations follows
// ArcticInference's `csrc/suffix_decoding/suffix_tree.cc`.

import { HashMap, mapNew, mapFree, mapGet, mapSet, mapDelete, NOT_FOUND } from "./hashmap";
import { Node, Seq, allocNode, releaseNodeBlock, setGroup } from "./nodes";
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

// Nodes with at most this many children find a child by walking their
// sibling list (most frequent first) instead of probing the edge table: the
// children are read next anyway, and most nodes have one or two, so this
// saves a hash and a likely cache miss in a large table on the hot paths.
// Both ways give the same child (integrity.ts checks that list, table and
// child total agree).
export const SCAN_CHILDREN: i32 = 4;

export function getChild(t: Tree, node: Node, token: i32): Node | null {
  if (node.numChildren <= SCAN_CHILDREN) {
    let c = node.headChild;
    while (c) {
      if (c.token == token) return c;
      c = c.nextSibling;
    }
    return null;
  }
  return edgeChild(t, node, token);
}

// The child for `token` from the edge table alone (the integrity checker
// verifies the table with this).
export function edgeChild(t: Tree, node: Node, token: i32): Node | null {
  const v = mapGet(t.edges, edgeKey(node, token));
  return v == NOT_FOUND ? null : changetype<Node>(<usize>v);
}
export function addChild(t: Tree, node: Node, token: i32, child: Node): void {
  mapSet(t.edges, edgeKey(node, token), <u32>changetype<usize>(child));
  node.numChildren++;
}
// Re-point an existing edge (numChildren unchanged).
export function setChild(t: Tree, node: Node, token: i32, child: Node): void {
  mapSet(t.edges, edgeKey(node, token), <u32>changetype<usize>(child));
}
export function removeChild(t: Tree, node: Node, token: i32): void {
  if (mapDelete(t.edges, edgeKey(node, token))) node.numChildren--;
}

// ---- nodes ----

// Free a node whose links to siblings and parent are already gone.
export function destroyNode(node: Node): void {
  while (node.endpoints) deleteEndpoint(node.endpoints!);
  setGroup(node, null);
  releaseNodeBlock(node);
}

// Free a whole subtree, iteratively (it may be deep).
export function destroySubtree(t: Tree, top: Node): void {
  // Walk down first children, freeing leaves on the way back up.
  let node: Node | null = top;
  while (node) {
    const child = node.headChild;
    if (child) {
      // Detach the child from the list so the next visit sees the rest.
      node.headChild = child.nextSibling;
      mapDelete(t.edges, edgeKey(node, child.token));
      node = child;
      continue;
    }
    const parent: Node | null = node === top ? null : node.parent;
    destroyNode(node);
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
  s.active = heap.alloc(<usize>t.maxDepth << 2);
  s.activeStart = 0;
  s.activeSize = 0;
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
  heap.free(s.active);
  heap.free(changetype<usize>(s));
}

// Address of the i-th active record (0 = oldest) in the ring buffer.
@inline export function activeSlot(t: Tree, s: Seq, i: i32): usize {
  let k = s.activeStart + i;
  if (k >= t.maxDepth) k -= t.maxDepth;
  return s.active + (<usize>k << 2);
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
  destroySubtree(t, t.root);
  while (t.firstSeq) destroySeq(t, t.firstSeq!);
  mapFree(t.edges);
  mapFree(t.seqs);
  heap.free(changetype<usize>(t));
}
