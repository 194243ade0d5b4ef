// WebAssembly exports of the suffix tree. Trees are opaque handles (pointers);
// token arrays travel through one shared I/O buffer in linear memory that the
// host writes into directly, so no glue code copies arrays. Every argument is
// validated on the host side: these functions assume valid input.

import { Tree, treeCreate, treeDestroy, findSeq, finishSeq } from "./tree";
import { append, extend, seqFor } from "./append";
import { remove } from "./remove";
import { speculatePair, bestDraft } from "./speculate";
import { checkIntegrity, memoryBytes, failedNode } from "./integrity";
import { describeCheck } from "./integrity-codes";
import { recordLayout as layoutText } from "./layout";
import { poolBytes } from "./nodes";

let ioBuf: usize = 0;
let ioCap: i32 = 0;

// Ensure the I/O buffer holds `n` int32 values; returns its address.
export function ioReserve(n: i32): usize {
  if (n > ioCap) {
    let cap = ioCap == 0 ? 1024 : ioCap;
    while (cap < n) cap <<= 1;
    if (ioBuf) heap.free(ioBuf);
    ioBuf = heap.alloc(<usize>cap << 2);
    ioCap = cap;
  }
  return ioBuf;
}

export function treeNew(maxDepth: i32): usize {
  return changetype<usize>(treeCreate(maxDepth));
}

export function treeFree(t: usize): void {
  treeDestroy(changetype<Tree>(t));
}

// Append the `n` tokens in the I/O buffer to sequence `seqId`.
export function treeExtend(t: usize, seqId: i32, n: i32): void {
  extend(changetype<Tree>(t), seqId, ioBuf, n);
}

export function treeAppend(t: usize, seqId: i32, token: i32): void {
  const tree = changetype<Tree>(t);
  append(tree, seqFor(tree, seqId), token);
}

// A request's update in one call: the `n` tokens in the I/O buffer go to
// sequence `localSeq` of its own tree and, when `global` is not 0, to
// sequence `globalSeq` of the global tree.
export function cacheExtend(local: usize, localSeq: i32, global: usize, globalSeq: i32, n: i32): void {
  extend(changetype<Tree>(local), localSeq, ioBuf, n);
  if (global) extend(changetype<Tree>(global), globalSeq, ioBuf, n);
}

// Sequence `seqId` will not grow again: frees the memory only growing needs
// (extending it afterwards aborts). No-op when the tree does not hold it.
export function treeFinish(t: usize, seqId: i32): void {
  const s = findSeq(changetype<Tree>(t), seqId);
  if (s) finishSeq(s);
}

export function treeRemove(t: usize, seqId: i32): bool {
  return remove(changetype<Tree>(t), seqId);
}

// Length of sequence `seqId`, or -1 when the tree does not hold it.
export function treeSeqLength(t: usize, seqId: i32): i32 {
  const s = findSeq(changetype<Tree>(t), seqId);
  return s ? s.len : -1;
}

export function treeNumSeqs(t: usize): i32 {
  return changetype<Tree>(t).numSeqs;
}

// Speculate from the `ctxLen` tokens in the I/O buffer. Returns the draft
// size; read the draft with the draft* accessors before the next call.
// The newest sequence is the hint for reading loci (see loci.ts).
export function treeSpeculate(
  t: usize, ctxLen: i32, maxSpecTokens: i32, maxSpecFactor: f32,
  maxSpecOffset: f32, minTokenProb: f32, useTreeSpec: bool,
): i32 {
  const tree = changetype<Tree>(t);
  return publish(speculatePair(
    tree, tree.firstSeq, 0, null, ioBuf, ctxLen, maxSpecTokens, maxSpecFactor,
    maxSpecOffset, minTokenProb, useTreeSpec,
  ));
}

// Speculate with a request's tree and the global tree (0: none) at once,
// keeping the better draft (the request's own on ties). The newest sequence
// of each tree is the hint for reading loci.
export function cacheSpeculate(
  local: usize, global: usize, ctxLen: i32, maxSpecTokens: i32, maxSpecFactor: f32,
  maxSpecOffset: f32, minTokenProb: f32, useTreeSpec: bool,
): i32 {
  const l = changetype<Tree>(local);
  return publish(speculatePair(
    l, l.firstSeq, global, global ? changetype<Tree>(global).firstSeq : null, ioBuf, ctxLen,
    maxSpecTokens, maxSpecFactor, maxSpecOffset, minTokenProb, useTreeSpec,
  ));
}

// cacheSpeculate for a context that continues sequence `localSeq` of the
// request's tree and `globalSeq` of the global tree (the request's prompt +
// response and its response): loci at their ends are read, not walked. Any
// context is still answered correctly; the sequences are only a hint.
export function cacheSpeculateSeqs(
  local: usize, localSeq: i32, global: usize, globalSeq: i32, ctxLen: i32, maxSpecTokens: i32,
  maxSpecFactor: f32, maxSpecOffset: f32, minTokenProb: f32, useTreeSpec: bool,
): i32 {
  const l = changetype<Tree>(local);
  return publish(speculatePair(
    l, findSeq(l, localSeq), global, global ? findSeq(changetype<Tree>(global), globalSeq) : null, ioBuf, ctxLen,
    maxSpecTokens, maxSpecFactor, maxSpecOffset, minTokenProb, useTreeSpec,
  ));
}

// The last draft, published after each speculate call at a fixed address
// (draftResult()) so the host reads it without further calls:
// size i32, tokens, parents, probs (addresses), score f32, matchLen i32.
const RESULT: usize = memory.data(24, 8);

function publish(size: i32): i32 {
  const d = bestDraft();
  store<i32>(RESULT, size);
  store<u32>(RESULT, <u32>d.tokens, 4);
  store<u32>(RESULT, <u32>d.parents, 8);
  store<u32>(RESULT, <u32>d.probs, 12);
  store<f32>(RESULT, d.score, 16);
  store<i32>(RESULT, d.matchLen, 20);
  return size;
}

export function draftResult(): usize { return RESULT; }
export function draftTokens(): usize { return bestDraft().tokens; }
export function draftParents(): usize { return bestDraft().parents; }
export function draftProbs(): usize { return bestDraft().probs; }
export function draftScore(): f32 { return bestDraft().score; }
export function draftMatchLen(): i32 { return bestDraft().matchLen; }

// Code of the first broken invariant (0: sound); the failing node's address
// is then in integrityFailedNode().
export function treeCheckIntegrity(t: usize): i32 {
  return checkIntegrity(changetype<Tree>(t));
}

export function integrityFailedNode(): usize {
  return failedNode;
}

// "NAME: message" for an integrity code, or null (0) when there is none: the
// host's only source of names and messages.
export function integrityCode(code: i32): string | null {
  return describeCheck(code);
}

// Field offsets of the records (see layout.ts): address of a u32 byte
// length followed by ASCII text.
export function recordLayout(): usize {
  return layoutText();
}

export function treeMemoryBytes(t: usize): usize {
  return memoryBytes(changetype<Tree>(t));
}

// Bytes parked in the free lists, ready for reuse.
export function pooledBytes(): usize {
  return poolBytes();
}
