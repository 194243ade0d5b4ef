// Records of the suffix tree and their allocation.
//
// Everything lives in unmanaged memory, and nodes, groups and endpoints (the
// records that churn) are recycled through free lists, so a long-lived cache
// that starts and stops millions of requests reuses the same blocks and its
// memory plateaus instead of waiting for a garbage collector. Adding a field
// means adding it to layout.ts too (a test checks that it lists them all).

@unmanaged
export class Node {
  // Number of suffixes that end at or pass through this node.
  count: i32;
  // First token of the run this node covers (the key in its parent's edges).
  token: i32;
  // Number of tokens in the run: the tokens are ref.data[refIdx .. refIdx+length).
  length: i32;
  refIdx: i32;
  // The sequence holding this node's tokens (a direct pointer: no lookup on
  // the hot path; re-pointed when that sequence is removed).
  ref: Seq | null;
  numChildren: i32;
  parent: Node | null;
  // Children as a list ordered by non-increasing count: headChild is the most
  // frequent continuation. Equal-count runs share a Group for O(1) moves.
  headChild: Node | null;
  tailChild: Node | null;
  nextSibling: Node | null;
  prevSibling: Node | null;
  group: Group | null;
  // Sequences whose suffix ends here, as a doubly-linked list of records.
  endpoints: Endpoint | null;
}

// A maximal run of siblings with the same count. `refs` counts the nodes
// pointing at it; it is freed when the last one lets go.
@unmanaged
export class Group {
  head: Node | null;
  prev: Group | null;
  next: Group | null;
  refs: i32;
}

// "The suffix of sequence `seq` ending at index `idx` ends at `node`."
// Linked both into the node's list and into the sequence's list. An active
// suffix's record moves down the tree as its sequence grows, so appending
// needs no endpoint lookups at all.
@unmanaged
export class Endpoint {
  seq: Seq | null;
  idx: i32;
  node: Node | null;
  prev: Endpoint | null;
  next: Endpoint | null;
  seqPrev: Endpoint | null;
  seqNext: Endpoint | null;
}

// A stored sequence: its tokens, its endpoint records, and the records of its
// active suffixes (still growing, at most maxDepth, in a ring buffer oldest
// first).
@unmanaged
export class Seq {
  id: i32;
  len: i32;
  cap: i32;
  data: usize;
  active: usize;
  activeStart: i32;
  activeSize: i32;
  // How many of the oldest active suffixes were alone at their node (count
  // 1) after the last append: see append.ts.
  alone: i32;
  endpoints: Endpoint | null;
  prev: Seq | null;
  next: Seq | null;
}

// Free lists, shared by all trees in this instance.
let freeNodes: usize = 0;
let freeGroups: usize = 0;
let freeEndpoints: usize = 0;

export function allocNode(count: i32, token: i32, length: i32, ref: Seq | null, refIdx: i32): Node {
  let p = freeNodes;
  if (p != 0) {
    freeNodes = load<usize>(p);
  } else {
    p = heap.alloc(offsetof<Node>());
  }
  // Every field written once (V8 runs memory.fill as a call).
  const n = changetype<Node>(p);
  n.count = count;
  n.token = token;
  n.length = length;
  n.refIdx = refIdx;
  n.ref = ref;
  n.numChildren = 0;
  n.parent = null;
  n.headChild = null;
  n.tailChild = null;
  n.nextSibling = null;
  n.prevSibling = null;
  n.group = null;
  n.endpoints = null;
  return n;
}

export function releaseNodeBlock(n: Node): void {
  const p = changetype<usize>(n);
  store<usize>(p, freeNodes);
  freeNodes = p;
}

export function newGroup(head: Node): Group {
  let p = freeGroups;
  if (p != 0) {
    freeGroups = load<usize>(p);
  } else {
    p = heap.alloc(offsetof<Group>());
  }
  memory.fill(p, 0, offsetof<Group>());
  const g = changetype<Group>(p);
  g.head = head;
  return g;
}

// Point `n` at group `g` (or none), keeping reference counts.
export function setGroup(n: Node, g: Group | null): void {
  const old = n.group;
  if (old === g) return;
  if (g) g.refs++;
  n.group = g;
  if (old) {
    old.refs--;
    if (old.refs == 0) {
      const p = changetype<usize>(old);
      store<usize>(p, freeGroups);
      freeGroups = p;
    }
  }
}

// An endpoint block with unset fields: the caller writes every one.
export function allocEndpoint(): Endpoint {
  let p = freeEndpoints;
  if (p != 0) {
    freeEndpoints = load<usize>(p);
  } else {
    p = heap.alloc(offsetof<Endpoint>());
  }
  return changetype<Endpoint>(p);
}

export function releaseEndpointBlock(e: Endpoint): void {
  const p = changetype<usize>(e);
  store<usize>(p, freeEndpoints);
  freeEndpoints = p;
}

export function poolBytes(): usize {
  let total: usize = 0;
  let p = freeNodes;
  while (p != 0) { total += offsetof<Node>(); p = load<usize>(p); }
  p = freeGroups;
  while (p != 0) { total += offsetof<Group>(); p = load<usize>(p); }
  p = freeEndpoints;
  while (p != 0) { total += offsetof<Endpoint>(); p = load<usize>(p); }
  return total;
}

@inline
export function seqToken(s: Seq, i: i32): i32 {
  return load<i32>(s.data + (<usize>i << 2));
}

// Address of a node's first token.
@inline
export function nodeTokens(n: Node): usize {
  return n.ref!.data + (<usize>n.refIdx << 2);
}
