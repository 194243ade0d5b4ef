// Where each suffix of the context ends in a tree: for match length L, the
// node and offset reached by walking the context's last L tokens down from
// the root (its "locus"). Speculation drafts from every locus.
//
// Walking from the root costs O(L) per length, quadratic in all, as in the
// reference. But the context usually ends like a sequence the tree holds: a
// request's own tree holds exactly its prompt and response so far, the global
// tree its response so far. That sequence's active endpoint records (one per
// suffix of its last maxDepth tokens) sit where those suffixes end, which is
// always the end of a node's run, so the loci of the shared tail's suffixes
// are read in O(1) and only longer lengths are walked. The sequence is a hint
// checked token by token, so any context gives the same loci.

import { Node, Endpoint, Seq, nodeTokens } from "./nodes";
import { Tree, getChild, activeSlot, activeNode, stillAlone } from "./tree";
import { DEBUG } from "./debug";

// Result of matchContext: the node where the match ends and how many of its
// tokens were consumed; null when the pattern does not occur.
export let matchNode: Node | null = null;
export let matchIdx: i32 = 0;

export function matchContext(t: Tree, ctx: usize, start: i32, end: i32): void {
  let node = t.root;
  let idx = 0;
  let ref: usize = 0;
  for (let i = start; i < end; i++) {
    const c = load<i32>(ctx + (<usize>i << 2));
    if (idx >= node.length) {
      const child = getChild(t, node, c);
      if (!child) {
        matchNode = null;
        return;
      }
      node = child;
      ref = nodeTokens(node);
      idx = 0;
    }
    if (load<i32>(ref + (<usize>idx << 2)) != c) {
      matchNode = null;
      return;
    }
    idx++;
  }
  matchNode = node;
  matchIdx = idx;
}

// Loci of the last findLoci call. Lengths 1..sharedLen come from the hint's
// records, sharedLen+1..matchedLen from walks (kept in walkBuf: node, idx).
let hintSeq: Seq | null = null;
export let sharedLen: i32 = 0;
let walkBuf: usize = 0;
let walkCap: i32 = 0;

// Lengths emptyBelow+1 .. sharedLen end where their suffix of the hint is
// alone (count 1, a leaf: see Seq.alone), so nothing follows them and their
// drafts are empty.
export let emptyBelow: i32 = 0;
// The longest match length whose locus exists (0: none), as the reference's
// loop over lengths 1, 2, ... (stopping at the first miss, below ctxLen)
// finds it.
export let matchedLen: i32 = 0;
// The locus of locate()'s length.
export let locusNode: Node | null = null;
export let locusIdx: i32 = 0;

// Finds the loci of the suffixes of ctx[0..ctxLen) in `t`, with `hint` a
// sequence of `t` the context may end like (null: none).
export function findLoci(t: Tree, ctx: usize, ctxLen: i32, hint: Seq | null): void {
  // Length of the tail shared with the hint, within its active records.
  let shared = 0;
  if (hint) {
    let most = ctxLen - 1;
    if (hint.activeSize < most) most = hint.activeSize;
    const a = ctx + (<usize>ctxLen << 2);
    const b = hint.data + (<usize>hint.len << 2);
    while (shared < most && load<i32>(a - (<usize>(shared + 1) << 2)) == load<i32>(b - (<usize>(shared + 1) << 2))) shared++;
  }
  hintSeq = hint;
  sharedLen = shared;
  // Ring position activeSize - L holds length L; the oldest `alone` are alone.
  emptyBelow = shared;
  if (hint) {
    const low = hint.activeSize - stillAlone(t, hint, hint.alone);
    if (low < shared) emptyBelow = low;
  }
  let len = shared;
  for (let L = shared + 1; L < ctxLen; L++) {
    matchContext(t, ctx, ctxLen - L, ctxLen);
    const node = matchNode;
    if (!node) break;
    const k = L - shared - 1;
    if (k >= walkCap) {
      const cap = walkCap == 0 ? 64 : walkCap << 1;
      const buf = heap.alloc(<usize>cap << 3);
      if (walkBuf) {
        memory.copy(buf, walkBuf, <usize>walkCap << 3);
        heap.free(walkBuf);
      }
      walkBuf = buf;
      walkCap = cap;
    }
    const p = walkBuf + (<usize>k << 3);
    store<u32>(p, <u32>changetype<usize>(node));
    store<i32>(p, matchIdx, 4);
    len = L;
  }
  matchedLen = len;
  if (DEBUG) checkLoci(t, ctx, ctxLen);
}

// Sets locusNode / locusIdx to the locus of length L (1 <= L <= matchedLen).
export function locate(t: Tree, L: i32): void {
  if (L <= sharedLen) {
    const s = hintSeq!;
    // The records hold lengths activeSize (oldest) down to 1.
    const node = activeNode(t, s, s.activeSize - L);
    locusNode = node;
    locusIdx = node.length;
  } else {
    const p = walkBuf + (<usize>(L - sharedLen - 1) << 3);
    locusNode = changetype<Node>(<usize>load<u32>(p));
    locusIdx = load<i32>(p, 4);
  }
}

// Debug build: every locus equals the walk from the root, and the next
// length (when below ctxLen) does not occur.
function checkLoci(t: Tree, ctx: usize, ctxLen: i32): void {
  for (let L = 1; L <= matchedLen; L++) {
    if (L <= sharedLen) {
      const s = hintSeq!;
      const e = changetype<Endpoint>(load<usize>(activeSlot(t, s, s.activeSize - L)));
      assert(e.seq === s && e.idx == s.len && e.node === activeNode(t, s, s.activeSize - L), "loci: an active record does not end its sequence");
    }
    locate(t, L);
    matchContext(t, ctx, ctxLen - L, ctxLen);
    assert(matchNode === locusNode && matchIdx == locusIdx, "loci: a locus differs from the walk from the root");
    if (L > emptyBelow && L <= sharedLen) {
      const n = locusNode!;
      assert(n.count == 1 && !n.headChild && locusIdx == n.length, "loci: a suffix counted alone is not alone at a leaf");
    }
  }
  if (matchedLen + 1 < ctxLen) {
    matchContext(t, ctx, ctxLen - matchedLen - 1, ctxLen);
    assert(!matchNode, "loci: a longer match was missed");
  }
}
