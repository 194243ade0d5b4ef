// Drafting: match the end of the context in the tree, then propose the most
// likely continuation, as a path (follow the most frequent child) or as a
// tree (best-first by estimated probability).
//
// Arithmetic is float32 where the reference uses float, so probabilities,
// scores and cut-offs agree with ArcticInference to the last bit.

import { Node, nodeTokens } from "./nodes";
import { Tree, edgeChild } from "./tree";

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

// Result of matching: the node where the match ends and how many of its
// tokens were consumed; null when the pattern does not occur.
let matchNode: Node | null = null;
let matchIdx: i32 = 0;

function matchContext(t: Tree, ctx: usize, start: i32, end: i32): void {
  let node = t.root;
  let idx = 0;
  let ref: usize = 0;
  for (let i = start; i < end; i++) {
    const c = load<i32>(ctx + (<usize>i << 2));
    if (idx >= node.length) {
      // The edge table, not the sibling scan append uses: matching reads
      // only the child it finds, so one probe beats touching every sibling.
      const child = edgeChild(t, node, c);
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
// out in the same order as in the reference implementation.
const ITEM: usize = 16;
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
  memory.copy(itemAt(dst), itemAt(src), ITEM);
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

// Try every match length from 1 up to (excluding) the context length, stop
// at the first that does not occur, and keep the highest-scoring draft (a
// longer match wins ties). Returns the number of draft tokens.
export function speculate(
  t: Tree, ctx: usize, ctxLen: i32, maxSpecTokens: i32,
  factor: f32, offset: f32, minProb: f32, useTree: bool,
): i32 {
  draftReserve(best, maxSpecTokens);
  draftReserve(cur, maxSpecTokens);
  best.size = 0;
  best.score = 0;
  best.matchLen = 0;
  for (let matchLen = 1; matchLen < ctxLen; matchLen++) {
    matchContext(t, ctx, ctxLen - matchLen, ctxLen);
    const node = matchNode;
    if (!node) break;
    const limit = <i32>(<f64>(<f32>matchLen * factor + offset) + 1e-6);
    let maxTokens = limit < maxSpecTokens ? limit : maxSpecTokens;
    if (maxTokens < 0) maxTokens = 0;
    cur.size = 0;
    cur.score = 0;
    if (useTree) speculateTree(t, cur, node, matchIdx, maxTokens, minProb);
    else speculatePath(t, cur, node, matchIdx, maxTokens, minProb);
    if (cur.score >= best.score) {
      const tmp = best;
      best = cur;
      cur = tmp;
      best.matchLen = matchLen;
    }
  }
  return best.size;
}

// Drafts from a request's own tree and the global tree (0: none) over the
// same context; the global draft wins only with a strictly higher score.
export function speculatePair(
  local: Tree, global: usize, ctx: usize, ctxLen: i32, maxSpecTokens: i32,
  factor: f32, offset: f32, minProb: f32, useTree: bool,
): i32 {
  speculate(local, ctx, ctxLen, maxSpecTokens, factor, offset, minProb, useTree);
  if (global == 0) return best.size;
  let tmp = held;
  held = best;
  best = tmp;
  speculate(changetype<Tree>(global), ctx, ctxLen, maxSpecTokens, factor, offset, minProb, useTree);
  if (!(best.score > held.score)) {
    tmp = held;
    held = best;
    best = tmp;
  }
  return best.size;
}
