// The byte offset of every record field, for host code that reads trees in
// linear memory: integrity reports describe the failing node, and tests
// corrupt trees on purpose. One table, taken from the records themselves, so
// no host code hard-codes an offset. Every field is 4 bytes (an i32 or a
// wasm32 pointer); a record's own entry is its size.

import { Node, Group, Endpoint, Seq } from "./nodes";
import { Tree } from "./tree";

// Written once as ASCII into unmanaged memory: a u32 byte length, then
// "Record=size Record.field=offset ...". Plain bytes keep the garbage
// collector and number formatting of strings out of the module.
const CAP: usize = 2048;
let buf: usize = 0;
let len: usize = 0;

function put(name: string, offset: usize): void {
  for (let i = 0; i < name.length; i++) byte(<u8>name.charCodeAt(i));
  byte(0x3D); // "="
  let div: usize = 1;
  while (offset / div >= 10) div *= 10;
  for (; div > 0; div /= 10) byte(<u8>(0x30 + (offset / div) % 10));
  byte(0x20); // " "
}

function byte(b: u8): void {
  assert(len < CAP);
  store<u8>(buf + 4 + len++, b);
}

// Address of the layout text (built on first use).
export function recordLayout(): usize {
  if (buf != 0) return buf;
  buf = heap.alloc(CAP + 4);
  put("Tree", offsetof<Tree>());
  put("Tree.maxDepth", offsetof<Tree>("maxDepth"));
  put("Tree.root", offsetof<Tree>("root"));
  put("Tree.edges", offsetof<Tree>("edges"));
  put("Tree.seqs", offsetof<Tree>("seqs"));
  put("Tree.firstSeq", offsetof<Tree>("firstSeq"));
  put("Tree.numSeqs", offsetof<Tree>("numSeqs"));
  put("Node", offsetof<Node>());
  put("Node.count", offsetof<Node>("count"));
  put("Node.token", offsetof<Node>("token"));
  put("Node.length", offsetof<Node>("length"));
  put("Node.refIdx", offsetof<Node>("refIdx"));
  put("Node.ref", offsetof<Node>("ref"));
  put("Node.numChildren", offsetof<Node>("numChildren"));
  put("Node.parent", offsetof<Node>("parent"));
  put("Node.headChild", offsetof<Node>("headChild"));
  put("Node.tailChild", offsetof<Node>("tailChild"));
  put("Node.nextSibling", offsetof<Node>("nextSibling"));
  put("Node.prevSibling", offsetof<Node>("prevSibling"));
  put("Node.group", offsetof<Node>("group"));
  put("Node.endpoints", offsetof<Node>("endpoints"));
  put("Group", offsetof<Group>());
  put("Group.head", offsetof<Group>("head"));
  put("Group.prev", offsetof<Group>("prev"));
  put("Group.next", offsetof<Group>("next"));
  put("Group.refs", offsetof<Group>("refs"));
  put("Endpoint", offsetof<Endpoint>());
  put("Endpoint.seq", offsetof<Endpoint>("seq"));
  put("Endpoint.idx", offsetof<Endpoint>("idx"));
  put("Endpoint.node", offsetof<Endpoint>("node"));
  put("Endpoint.prev", offsetof<Endpoint>("prev"));
  put("Endpoint.next", offsetof<Endpoint>("next"));
  put("Endpoint.seqPrev", offsetof<Endpoint>("seqPrev"));
  put("Endpoint.seqNext", offsetof<Endpoint>("seqNext"));
  put("Seq", offsetof<Seq>());
  put("Seq.id", offsetof<Seq>("id"));
  put("Seq.len", offsetof<Seq>("len"));
  put("Seq.cap", offsetof<Seq>("cap"));
  put("Seq.data", offsetof<Seq>("data"));
  put("Seq.active", offsetof<Seq>("active"));
  put("Seq.activeStart", offsetof<Seq>("activeStart"));
  put("Seq.activeSize", offsetof<Seq>("activeSize"));
  put("Seq.alone", offsetof<Seq>("alone"));
  put("Seq.endpoints", offsetof<Seq>("endpoints"));
  put("Seq.prev", offsetof<Seq>("prev"));
  put("Seq.next", offsetof<Seq>("next"));
  store<u32>(buf, <u32>len);
  return buf;
}
