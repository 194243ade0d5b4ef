// Appending a token to a sequence: every suffix of it that is still growing
// (at most maxDepth, the "active" ones) moves one token down the tree.
//
// Each active suffix keeps an endpoint record at the node where it ends, so
// an append costs O(maxDepth) with no endpoint lookups. What happens to a
// suffix depends on its node and the child for the new token: the cases
// below (1a to 3b) follow ArcticInference's `suffix_tree.cc`, which decides
// the tie order between equally frequent continuations. The debug build
// asserts each case's preconditions (see debug.ts).

import { Node, Endpoint, Seq, allocNode, setGroup, newGroup, nodeTokens } from "./nodes";
import { insertAfter, replaceInSiblings, incrementCount } from "./siblings";
import { moveEndpoint, newEndpoint } from "./endpoints";
import {
  Tree, getChild, addChild, setChild, removeChild, destroyNode, findSeq, createSeq, activeSlot, activeNode, stillAlone,
} from "./tree";
import { DEBUG } from "./debug";

// Sequence `seqId` of the tree, created when new.
export function seqFor(t: Tree, seqId: i32): Seq {
  const s = findSeq(t, seqId);
  if (!s) return createSeq(t, seqId);
  // Growing it now would leave the suffixes that were growing behind.
  if (!s.active) abort("a finished sequence cannot grow");
  return s;
}

// Appends the `n` tokens at `tokens` to sequence `seqId`.
export function extend(t: Tree, seqId: i32, tokens: usize, n: i32): void {
  if (n <= 0) return;
  const s = seqFor(t, seqId);
  for (let i = 0; i < n; i++) append(t, s, load<i32>(tokens + (<usize>i << 2)));
}

export function append(t: Tree, s: Seq, token: i32): void {
  const root = t.root;

  // A new suffix starts at the root. When the oldest active suffix has
  // reached maxDepth it stops growing: its record stays where it is.
  let alone = s.alone;
  if (s.activeSize == t.maxDepth) {
    s.activeStart = s.activeStart + 1 == t.maxDepth ? 0 : s.activeStart + 1;
    s.activeSize--;
    if (alone > 0) alone--;
  }
  const fresh = newEndpoint(s, root, s.len);
  const freshSlot = activeSlot(t, s, s.activeSize);
  store<usize>(freshSlot, changetype<usize>(fresh));
  store<usize>(freshSlot, changetype<usize>(root), 4);
  s.activeSize++;
  root.count += 1;

  if (s.len == s.cap) {
    s.cap <<= 1;
    s.data = heap.realloc(s.data, <usize>s.cap << 2);
  }
  store<i32>(s.data + (<usize>s.len << 2), token);
  s.len++;
  const seqLen = s.len;

  // Case 1a, a suffix alone at its node (count 1, not the root): the node
  // is a leaf of this sequence (no child for any token), extended by one
  // token. Most appends are this case, and the suffixes alone are always the
  // oldest active ones: a longer suffix occurs at most as often as a shorter
  // one. They were counted at the last append; since then another sequence
  // may have joined some of them, and then all younger ones too, so the
  // count shrinks until the youngest of them is still alone. The rest need
  // no loads but their own.
  alone = stillAlone(t, s, alone);
  const n = s.activeSize;
  // Walk the ring with a pointer, oldest first (the loops' stores could
  // alias the sequence record, so activeSlot would reload it every step).
  const ring = s.active;
  const ringEnd = ring + (<usize>t.maxDepth << 3);
  let next = activeSlot(t, s, 0);
  for (let i = 0; i < alone; i++) {
    // The slot holds the record and its node: no wait for one to find the other.
    const slot = next;
    next += 8;
    if (next == ringEnd) next = ring;
    const e = changetype<Endpoint>(load<usize>(slot));
    const node = changetype<Node>(load<usize>(slot, 4));
    if (DEBUG) assert(e.node === node, "append: an active slot's node is stale");
    if (DEBUG) assert(e.seq === s && e.idx == seqLen - 1, "append: an active suffix's record is stale");
    if (DEBUG) assert(node.count == 1 && node !== root && onlyEndpoint(node, e) && node.numChildren == 0, "case 1a: node is not a leaf of this suffix alone");
    // Its run must be this sequence's last tokens, or growing it in
    // place would make it cover the wrong token.
    if (DEBUG) assert(node.ref === s && node.refIdx + node.length == seqLen - 1, "case 1a: node's run does not end the sequence");
    node.length += 1;
    e.idx = seqLen;
  }

  for (let i = alone; i < n; i++) {
    const slot = next;
    next += 8;
    if (next == ringEnd) next = ring;
    const e = changetype<Endpoint>(load<usize>(slot));
    const node = changetype<Node>(load<usize>(slot, 4));
    if (DEBUG) assert(e.node === node, "append: an active slot's node is stale");
    // An active suffix ends at its record's node, just before the new token.
    if (DEBUG) assert(e.seq === s && e.idx == seqLen - 1, "append: an active suffix's record is stale");

    if (node.count == 1 && node !== root) {
      // Case 1a (see above) for a suffix that was not alone before.
      if (DEBUG) assert(onlyEndpoint(node, e) && node.numChildren == 0, "case 1a: node is not a leaf of this suffix alone");
      if (DEBUG) assert(node.ref === s && node.refIdx + node.length == seqLen - 1, "case 1a: node's run does not end the sequence");
      node.length += 1;
      e.idx = seqLen;
      continue;
    }
    const child = getChild(t, node, token);

    if (!child) {
      // Case 1b: branch off a new leaf for the token.
      if (DEBUG) assert((node.numChildren == 0) == !node.headChild, "case 1b: child total and child list disagree");
      const leaf = allocNode(1, token, 1, s, seqLen - 1);
      leaf.parent = node;
      addChild(t, node, token, leaf);
      moveEndpoint(e, leaf, seqLen);
      if (node.numChildren == 1) {
        node.headChild = leaf;
        node.tailChild = leaf;
        setGroup(leaf, newGroup(leaf));
      } else {
        // Count 1 is the smallest: the new leaf goes last.
        insertAfter(leaf, node.tailChild!);
      }
    } else if (node.count == child.count + 1 && node !== root) {
      // Case 2: every other suffix through this node continues into `child`
      // and this suffix is the only one ending here.
      if (DEBUG) assert(node.numChildren == 1 && node.headChild === child && onlyEndpoint(node, e), "case 2: node has other children or endpoints");
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
      // The node counts this suffix and the child does not yet.
      if (DEBUG) assert(child.count < node.count && child.parent === node, "case 3: child count not below its parent's");
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
    store<usize>(slot, changetype<usize>(e.node), 4);
  }
  // Suffixes left alone by this append join the count.
  while (alone < n && activeNode(t, s, alone).count == 1) alone++;
  s.alone = alone;
}

// Whether `e` is the only record on `node` (debug checks only).
function onlyEndpoint(node: Node, e: Endpoint): bool {
  return node.endpoints === e && !e.next;
}
