// A suffix tree over many int32 token sequences, indexing every suffix up to
// `maxDepth` tokens, with path compression and per-node suffix counts.
//
// Appending a token updates the sequence's active nodes (one per suffix still
// growing, at most maxDepth), so an append costs O(maxDepth). The cases below
// carry the names of the algorithm's steps; the structure (and so the tie
// order between equally frequent continuations) follows ArcticInference's
// `csrc/suffix_decoding/suffix_tree.cc`.

import { HashMap, mapNew, mapFree, mapGet, mapSet, mapDelete, mapMaybeShrink, NOT_FOUND } from "./hashmap";
import {
  Node, Endpoint, Seq, allocNode, releaseNodeBlock, setGroup, newGroup,
  allocEndpoint, releaseEndpointBlock, seqToken, nodeTokens,
} from "./nodes";
import {
  removeFromSiblings, insertAfter, replaceInSiblings, incrementCount, decrementCount,
} from "./siblings";

@unmanaged
export class Tree {
  maxDepth: i32;
  root: Node;
  edges: HashMap; // (parent, token) -> child
  seqs: HashMap; // seq id -> Seq
  firstSeq: Seq | null;
  numSeqs: i32;
}

const MIN_TABLE: u32 = 64;

// ---- keys ----

@inline function edgeKey(parent: Node, token: i32): u64 {
  return (<u64>changetype<usize>(parent) << 32) | <u64><u32>token;
}
@inline function seqKey(seq: i32): u64 {
  return <u64><u32>seq;
}

// ---- edges ----

export function getChild(t: Tree, node: Node, token: i32): Node | null {
  const v = mapGet(t.edges, edgeKey(node, token));
  return v == NOT_FOUND ? null : changetype<Node>(<usize>v);
}
function addChild(t: Tree, node: Node, token: i32, child: Node): void {
  mapSet(t.edges, edgeKey(node, token), <u32>changetype<usize>(child));
  node.numChildren++;
}
function setChild(t: Tree, node: Node, token: i32, child: Node): void {
  mapSet(t.edges, edgeKey(node, token), <u32>changetype<usize>(child));
}
function removeChild(t: Tree, node: Node, token: i32): void {
  if (mapDelete(t.edges, edgeKey(node, token))) node.numChildren--;
}

// ---- endpoints ----

function linkToNode(e: Endpoint, node: Node): void {
  e.node = node;
  e.prev = null;
  const head = node.endpoints;
  e.next = head;
  if (head) head.prev = e;
  node.endpoints = e;
}

function unlinkFromNode(e: Endpoint): void {
  const node = e.node!;
  const prev = e.prev;
  const next = e.next;
  if (prev) prev.next = next;
  else node.endpoints = next;
  if (next) next.prev = prev;
}

// Move an active suffix's record to the node where the suffix now ends.
@inline function moveEndpoint(e: Endpoint, node: Node, idx: i32): void {
  unlinkFromNode(e);
  linkToNode(e, node);
  e.idx = idx;
}

function newEndpoint(s: Seq, node: Node, idx: i32): Endpoint {
  const e = allocEndpoint();
  e.seq = s;
  e.idx = idx;
  linkToNode(e, node);
  e.seqPrev = null;
  const head = s.endpoints;
  e.seqNext = head;
  if (head) head.seqPrev = e;
  s.endpoints = e;
  return e;
}

function deleteEndpoint(e: Endpoint): void {
  unlinkFromNode(e);
  const s = e.seq!;
  const prev = e.seqPrev;
  const next = e.seqNext;
  if (prev) prev.seqNext = next;
  else s.endpoints = next;
  if (next) next.seqPrev = prev;
  releaseEndpointBlock(e);
}

export function hasEndpoint(node: Node, s: Seq): bool {
  let e = node.endpoints;
  while (e) {
    if (e.seq === s) return true;
    e = e.next;
  }
  return false;
}

// ---- nodes ----

// Free a node whose links to siblings and parent are already gone.
function destroyNode(node: Node): void {
  while (node.endpoints) deleteEndpoint(node.endpoints!);
  setGroup(node, null);
  releaseNodeBlock(node);
}

// Free a whole subtree, iteratively (it may be deep).
function destroySubtree(t: Tree, top: Node): void {
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

function createSeq(t: Tree, id: i32): Seq {
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

function destroySeq(t: Tree, s: Seq): void {
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
@inline function activeSlot(t: Tree, s: Seq, i: i32): usize {
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

export function append(t: Tree, seqId: i32, token: i32): void {
  let s = findSeq(t, seqId);
  if (!s) s = createSeq(t, seqId);
  const root = t.root;

  // A new suffix starts at the root. When the oldest active suffix has
  // reached maxDepth it stops growing: its record stays where it is.
  if (s.activeSize == t.maxDepth) {
    s.activeStart = s.activeStart + 1 == t.maxDepth ? 0 : s.activeStart + 1;
    s.activeSize--;
  }
  const fresh = newEndpoint(s, root, s.len);
  store<usize>(activeSlot(t, s, s.activeSize), changetype<usize>(fresh));
  s.activeSize++;
  root.count += 1;

  if (s.len == s.cap) {
    s.cap <<= 1;
    s.data = heap.realloc(s.data, <usize>s.cap << 2);
  }
  store<i32>(s.data + (<usize>s.len << 2), token);
  s.len++;
  const seqLen = s.len;

  for (let i = 0, n = s.activeSize; i < n; i++) {
    const e = changetype<Endpoint>(load<usize>(activeSlot(t, s, i)));
    const node = e.node!;
    const child = getChild(t, node, token);

    if (!child) {
      if (node.count == 1 && node !== root) {
        // Case 1a: only this suffix ends here, so the node is a leaf of this
        // sequence: extend it by one token.
        node.length += 1;
        e.idx = seqLen;
      } else {
        // Case 1b: branch off a new leaf for the token.
        const leaf = allocNode(1, token, 1, s, seqLen - 1);
        leaf.parent = node;
        addChild(t, node, token, leaf);
        moveEndpoint(e, leaf, seqLen);
        if (node.numChildren == 1) {
          node.headChild = leaf;
          node.tailChild = leaf;
          setGroup(leaf, newGroup(leaf));
        } else {
          insertAfter(leaf, node.tailChild!);
        }
      }
    } else if (node.count == child.count + 1 && node !== root) {
      // Case 2: every other suffix through this node continues into `child`
      // and this suffix is the only one ending here.
      if (child.length == 1) {
        // Case 2a: fuse node and child; the child takes the node's place.
        const parent = node.parent!;
        child.count += 1;
        child.token = node.token;
        child.length = node.length + 1;
        child.ref = s;
        child.refIdx = seqLen - child.length;
        child.parent = parent;
        moveEndpoint(e, child, seqLen);
        replaceInSiblings(node, child);
        setChild(t, parent, child.token, child);
        removeChild(t, node, token);
        destroyNode(node);
      } else {
        // Case 2b: grow the node by one token into the child's run.
        node.length += 1;
        e.idx = seqLen;
        node.ref = s;
        node.refIdx = seqLen - node.length;
        child.length -= 1;
        child.refIdx += 1;
        child.token = load<i32>(nodeTokens(child));
        if (child.token != token) {
          removeChild(t, node, token);
          addChild(t, node, child.token, child);
        }
      }
    } else {
      // Case 3: move this suffix down into the child.
      if (child.length == 1) {
        // Case 3a: the child is exactly one token: step into it.
        moveEndpoint(e, child, seqLen);
        incrementCount(child);
      } else {
        // Case 3b: split the child after its first token.
        const mid = allocNode(child.count, token, 1, s, seqLen - 1);
        mid.parent = node;
        replaceInSiblings(child, mid);
        setChild(t, node, token, mid);
        child.length -= 1;
        child.refIdx += 1;
        child.token = load<i32>(nodeTokens(child));
        addChild(t, mid, child.token, child);
        child.parent = mid;
        moveEndpoint(e, mid, seqLen);
        mid.headChild = child;
        mid.tailChild = child;
        setGroup(child, newGroup(child));
        incrementCount(mid);
      }
    }
  }
}

// Scratch stack for the path walked by `remove`.
let pathBuf: usize = 0;
let pathCap: i32 = 0;

export function remove(t: Tree, seqId: i32): bool {
  const s = findSeq(t, seqId);
  if (!s) return false;
  const root = t.root;
  const len = s.len;
  if (pathCap < t.maxDepth + 1) {
    if (pathBuf) heap.free(pathBuf);
    pathCap = t.maxDepth + 1;
    pathBuf = heap.alloc(<usize>pathCap << 2);
  }
  // The sequence's endpoints go first; only counts and refs remain to fix.
  while (s.endpoints) deleteEndpoint(s.endpoints!);
  for (let start = 0; start < len; start++) {
    let node = root;
    node.count--;
    let idx = start;
    let depth = 0;
    // Walk this suffix down, decrementing counts; a count reaching zero
    // drops the whole subtree below.
    while (idx < len) {
      const token = seqToken(s, idx);
      const child = getChild(t, node, token);
      if (!child) break;
      if (child.count > 1) {
        decrementCount(child);
      } else {
        removeFromSiblings(child);
        removeChild(t, node, token);
        destroySubtree(t, child);
        break;
      }
      idx += child.length;
      node = child;
      store<usize>(pathBuf + (<usize>depth << 2), changetype<usize>(node));
      depth++;
    }
    // The last node may now carry exactly its only child's suffixes: merge.
    if (node !== root && node.numChildren == 1) {
      const child = node.headChild!;
      if (node.count == child.count) {
        const parent = node.parent!;
        const oldKey = child.token;
        child.token = node.token;
        child.length += node.length;
        child.refIdx -= node.length;
        child.parent = parent;
        replaceInSiblings(node, child);
        removeChild(t, node, oldKey);
        setChild(t, parent, child.token, child);
        destroyNode(node);
        node = child;
        store<usize>(pathBuf + (<usize>(depth - 1) << 2), changetype<usize>(node));
      }
    }
    // Nodes on the path may reference the sequence being removed: re-point
    // them at a surviving sequence, through an endpoint of any leaf below.
    let leaf = node;
    let distance = 0;
    while (leaf.headChild) {
      leaf = leaf.headChild!;
      distance += leaf.length;
    }
    const ref = leaf.endpoints;
    if (!ref) continue;
    const refSeq = ref.seq!;
    let refIdx = ref.idx - distance;
    while (depth > 0) {
      depth--;
      const n = changetype<Node>(load<usize>(pathBuf + (<usize>depth << 2)));
      refIdx -= n.length;
      if (n.ref === s) {
        n.ref = refSeq;
        n.refIdx = refIdx;
      }
    }
  }
  destroySeq(t, s);
  mapMaybeShrink(t.edges, MIN_TABLE);
  mapMaybeShrink(t.seqs, 16);
  return true;
}
