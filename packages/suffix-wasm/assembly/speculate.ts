// Drafting: match the end of the context in the tree, then propose the most
// likely continuation, as a path (follow the most frequent child) or as a
// tree (best-first by estimated probability).
//
// Arithmetic is float32 where the reference uses float, so probabilities,
// scores and cut-offs agree with ArcticInference to the last bit.

import { Node, Seq, nodeTokens } from "./nodes";
import { Tree } from "./tree";
import { findLoci, locate, matchedLen, locusNode, locusIdx, sharedLen, emptyBelow, matchContext, matchNode, matchIdx } from "./loci";
import { DEBUG } from "./debug";

// A draft: tokens, parents (-1 = child of the context), probs, score and
// match length. `best` and `cur` swap so the best draft survives while the
// next match length is tried; `held` keeps one tree's draft in speculatePair.
@unmanaged
export class Draft {
  cap: i32;
  size: i32;
  tokens: usize;
  parents: usize;
  probs: usize;
  score: f32;
  matchLen: i32;
}

function draftNew(): Draft {
  const d = changetype<Draft>(heap.alloc(offsetof<Draft>()));
  d.cap = 0;
  d.size = 0;
  d.tokens = 0;
  d.parents = 0;
  d.probs = 0;
  d.score = 0;
  d.matchLen = 0;
  return d;
}

function draftReserve(d: Draft, cap: i32): void {
  if (d.cap >= cap) return;
  if (d.tokens) {
    heap.free(d.tokens);
    heap.free(d.parents);
    heap.free(d.probs);
  }
  d.cap = cap;
  d.tokens = heap.alloc(<usize>cap << 2);
  d.parents = heap.alloc(<usize>cap << 2);
  d.probs = heap.alloc(<usize>cap << 2);
}

@inline function draftPush(d: Draft, token: i32, parent: i32, prob: f32): void {
  const off = <usize>d.size << 2;
  store<i32>(d.tokens + off, token);
  store<i32>(d.parents + off, parent);
  store<f32>(d.probs + off, prob);
  d.score += prob;
  d.size++;
}

let best: Draft = draftNew();
let cur: Draft = draftNew();
// Holds the first tree's draft while a second tree is tried.
let held: Draft = draftNew();

export function bestDraft(): Draft {
  return best;
}

function speculatePath(t: Tree, d: Draft, start: Node, startIdx: i32, maxTokens: i32, minProb: f32): void {
  let node = start;
  let idx = startIdx;
  let prob: f32 = 1.0;
  let ref = nodeTokens(node);
  while (d.size < maxTokens && prob >= minProb) {
    if (idx < node.length) {
      draftPush(d, load<i32>(ref + (<usize>idx << 2)), d.size - 1, prob);
      idx++;
    } else {
      const child = node.headChild;
      if (!child) break;
      prob *= <f32>child.count / <f32>node.count;
      node = child;
      ref = nodeTokens(node);
      idx = 0;
    }
  }
}

// Binary max-heap of (prob, node, idx, parent) items. Push and pop follow
// libstdc++'s std::priority_queue step for step, so equal probabilities come
// out in the same order as in the reference implementation. Items are 16
// bytes: prob f32, node, idx, parent.
let heapBuf: usize = 0;
let heapCap: i32 = 0;
let heapLen: i32 = 0;

@inline function itemAt(i: i32): usize {
  return heapBuf + (<usize>i << 4);
}
@inline function probAt(i: i32): f32 {
  return load<f32>(itemAt(i));
}
@inline function copyItem(dst: i32, src: i32): void {
  // Two 8-byte moves: V8 runs memory.copy as a call.
  const d = itemAt(dst);
  const s = itemAt(src);
  store<u64>(d, load<u64>(s));
  store<u64>(d, load<u64>(s, 8), 8);
}
function writeItem(i: i32, prob: f32, node: Node, idx: i32, parent: i32): void {
  const p = itemAt(i);
  store<f32>(p, prob);
  store<u32>(p, <u32>changetype<usize>(node), 4);
  store<i32>(p, idx, 8);
  store<i32>(p, parent, 12);
}

// Sift the item held in the spare slot `heapCap` (probability `prob`) up
// from `hole`, then store it where it stops.
function siftUp(hole: i32, top: i32, prob: f32): void {
  let parent = (hole - 1) / 2;
  while (hole > top && probAt(parent) < prob) {
    copyItem(hole, parent);
    hole = parent;
    parent = (hole - 1) / 2;
  }
  copyItem(hole, heapCap);
}

function heapPush(prob: f32, node: Node, idx: i32, parent: i32): void {
  if (heapLen + 1 >= heapCap) {
    const cap = heapCap == 0 ? 256 : heapCap << 1;
    // One spare slot past the end holds the item being sifted.
    const buf = heap.alloc(<usize>(cap + 1) << 4);
    if (heapBuf) {
      memory.copy(buf, heapBuf, <usize>heapLen << 4);
      heap.free(heapBuf);
    }
    heapBuf = buf;
    heapCap = cap;
  }
  writeItem(heapCap, prob, node, idx, parent);
  heapLen++;
  siftUp(heapLen - 1, 0, prob);
}

// heapPop removes the maximum and returns it through these globals (a wasm
// function returns one value).
let popProb: f32 = 0;
let popNode: usize = 0;
let popIdx: i32 = 0;
let popParent: i32 = 0;

function heapPop(): void {
  const top = itemAt(0);
  popProb = load<f32>(top);
  popNode = <usize>load<u32>(top, 4);
  popIdx = load<i32>(top, 8);
  popParent = load<i32>(top, 12);
  const len = heapLen - 1;
  heapLen = len;
  if (len == 0) return;
  // std::pop_heap: the last element is re-inserted from the root's hole.
  copyItem(heapCap, len);
  const value = probAt(heapCap);
  let hole = 0;
  let second = 0;
  while (second < (len - 1) / 2) {
    second = 2 * (second + 1);
    if (probAt(second) < probAt(second - 1)) second--;
    copyItem(hole, second);
    hole = second;
  }
  if ((len & 1) == 0 && second == (len - 2) / 2) {
    second = 2 * (second + 1);
    copyItem(hole, second - 1);
    hole = second - 1;
  }
  siftUp(hole, 0, value);
}

function speculateTree(t: Tree, d: Draft, start: Node, startIdx: i32, maxTokens: i32, minProb: f32): void {
  heapLen = 0;
  heapPush(1.0, start, startIdx, -1);
  while (d.size < maxTokens && heapLen > 0) {
    heapPop();
    const node = changetype<Node>(popNode);
    const prob = popProb;
    if (popIdx < node.length) {
      draftPush(d, load<i32>(nodeTokens(node) + (<usize>popIdx << 2)), popParent, prob);
      heapPush(prob, node, popIdx + 1, d.size - 1);
    } else {
      const parent = popParent;
      let child = node.headChild;
      while (child) {
        const p = prob * <f32>child.count / <f32>node.count;
        if (p < minProb) break;
        heapPush(p, child, 0, parent);
        child = child.nextSibling;
      }
    }
  }
}

// The reference tries every match length from 1 up to (excluding) the
// context length, stops at the first that does not occur, and keeps the
// highest-scoring draft, the longest match winning ties. Here the lengths
// run from the longest down, so a shorter match must score strictly higher;
// and since a draft scores at most its token limit (each prob is at most 1),
// which never grows as the length shrinks, the loop stops as soon as that
// limit cannot beat the best score, or `floor` (speculatePair: the score the
// other tree's draft already has). Same draft, without drafting from
// lengths that cannot win. `hint`: see loci.ts. Returns the draft size.
export function speculate(
  t: Tree, ctx: usize, ctxLen: i32, maxSpecTokens: i32,
  factor: f32, offset: f32, minProb: f32, useTree: bool, hint: Seq | null, floor: f32,
): i32 {
  draftReserve(best, maxSpecTokens);
  draftReserve(cur, maxSpecTokens);
  best.size = 0;
  best.score = 0;
  best.matchLen = 0;
  findLoci(t, ctx, ctxLen, hint);
  for (let matchLen = matchedLen; matchLen >= 1; matchLen--) {
    const limit = <i32>(<f64>(<f32>matchLen * factor + offset) + 1e-6);
    let maxTokens = limit < maxSpecTokens ? limit : maxSpecTokens;
    if (maxTokens < 0) maxTokens = 0;
    const bound = <f32>maxTokens;
    if (bound <= floor || (matchLen < matchedLen && bound <= best.score)) break;
    if (matchLen < matchedLen && matchLen <= sharedLen && matchLen > emptyBelow) {
      // Empty drafts (see loci.ts) cannot beat the longest match's.
      matchLen = emptyBelow + 1;
      continue;
    }
    locate(t, matchLen);
    const node = locusNode!;
    cur.size = 0;
    cur.score = 0;
    if (useTree) speculateTree(t, cur, node, locusIdx, maxTokens, minProb);
    else speculatePath(t, cur, node, locusIdx, maxTokens, minProb);
    if (matchLen == matchedLen || cur.score > best.score) {
      const tmp = best;
      best = cur;
      cur = tmp;
      best.matchLen = matchLen;
    }
  }
  return best.size;
}

// Drafts from a request's own tree and the global tree (0: none) over the
// same context; the global draft wins only with a strictly higher score, so
// the global tree drafts only from lengths that can score higher.
export function speculatePair(
  local: Tree, localHint: Seq | null, global: usize, globalHint: Seq | null, ctx: usize, ctxLen: i32,
  maxSpecTokens: i32, factor: f32, offset: f32, minProb: f32, useTree: bool,
): i32 {
  speculate(local, ctx, ctxLen, maxSpecTokens, factor, offset, minProb, useTree, localHint, -1);
  if (global == 0) {
    if (DEBUG) checkPair(local, global, ctx, ctxLen, maxSpecTokens, factor, offset, minProb, useTree);
    return best.size;
  }
  let tmp = held;
  held = best;
  best = tmp;
  speculate(changetype<Tree>(global), ctx, ctxLen, maxSpecTokens, factor, offset, minProb, useTree, globalHint, held.score);
  if (!(best.score > held.score)) {
    tmp = held;
    held = best;
    best = tmp;
  }
  if (DEBUG) checkPair(local, global, ctx, ctxLen, maxSpecTokens, factor, offset, minProb, useTree);
  return best.size;
}

// ---- debug build: the reference's own loop, to compare with ----

// The reference's speculate: every length from 1 up, each walked from the
// root, the last best draft kept. Returns a new draft (the caller frees it).
function referenceSpeculate(
  t: Tree, ctx: usize, ctxLen: i32, maxSpecTokens: i32, factor: f32, offset: f32, minProb: f32, useTree: bool,
): Draft {
  let top = draftNew();
  let next = draftNew();
  draftReserve(top, maxSpecTokens);
  draftReserve(next, maxSpecTokens);
  for (let matchLen = 1; matchLen < ctxLen; matchLen++) {
    matchContext(t, ctx, ctxLen - matchLen, ctxLen);
    const node = matchNode;
    if (!node) break;
    const limit = <i32>(<f64>(<f32>matchLen * factor + offset) + 1e-6);
    let maxTokens = limit < maxSpecTokens ? limit : maxSpecTokens;
    if (maxTokens < 0) maxTokens = 0;
    next.size = 0;
    next.score = 0;
    if (useTree) speculateTree(t, next, node, matchIdx, maxTokens, minProb);
    else speculatePath(t, next, node, matchIdx, maxTokens, minProb);
    if (next.score >= top.score) {
      const tmp = top;
      top = next;
      next = tmp;
      top.matchLen = matchLen;
    }
  }
  draftFree(next);
  return top;
}

function draftFree(d: Draft): void {
  if (d.tokens) {
    heap.free(d.tokens);
    heap.free(d.parents);
    heap.free(d.probs);
  }
  heap.free(changetype<usize>(d));
}

// Asserts that speculatePair's draft (in `best`) is the reference's, bit for bit.
function checkPair(
  local: Tree, global: usize, ctx: usize, ctxLen: i32, maxSpecTokens: i32, factor: f32, offset: f32, minProb: f32, useTree: bool,
): void {
  let want = referenceSpeculate(local, ctx, ctxLen, maxSpecTokens, factor, offset, minProb, useTree);
  if (global) {
    const g = referenceSpeculate(changetype<Tree>(global), ctx, ctxLen, maxSpecTokens, factor, offset, minProb, useTree);
    if (g.score > want.score) {
      draftFree(want);
      want = g;
    } else {
      draftFree(g);
    }
  }
  let same = want.size == best.size && want.matchLen == best.matchLen &&
    reinterpret<u32>(want.score) == reinterpret<u32>(best.score);
  for (let i = 0; same && i < want.size; i++) {
    const off = <usize>i << 2;
    same = load<i32>(want.tokens + off) == load<i32>(best.tokens + off) &&
      load<i32>(want.parents + off) == load<i32>(best.parents + off) &&
      load<u32>(want.probs + off) == load<u32>(best.probs + off);
  }
  draftFree(want);
  assert(same, "speculate: the draft differs from the reference's loop over every match length");
}
