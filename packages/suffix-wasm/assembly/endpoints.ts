// Endpoint records: "a suffix of this sequence ends at this node". Each record
// sits in two doubly-linked lists, the node's and the sequence's, so a node
// lists the suffixes ending at it and a sequence can drop all of its records.

import { Node, Endpoint, Seq, allocEndpoint, releaseEndpointBlock } from "./nodes";

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
@inline export function moveEndpoint(e: Endpoint, node: Node, idx: i32): void {
  unlinkFromNode(e);
  linkToNode(e, node);
  e.idx = idx;
}

// A new record; every field is written here (allocEndpoint leaves them unset).
export function newEndpoint(s: Seq, node: Node, idx: i32): Endpoint {
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

export function deleteEndpoint(e: Endpoint): void {
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
