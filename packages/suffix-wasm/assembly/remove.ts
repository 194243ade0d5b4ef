// Removing a sequence: walk each of its suffixes down from the root,
// decrementing counts, dropping subtrees no other suffix reaches, merging a
// node into its only child when they end up with the same count, and
// re-pointing nodes that referenced the removed sequence's tokens. The debug
// build asserts the preconditions of each step (see debug.ts).

import { mapMaybeShrink } from "./hashmap";
import { Node, seqToken } from "./nodes";
import { removeFromSiblings, replaceInSiblings, decrementCount } from "./siblings";
import { deleteEndpoint } from "./endpoints";
import {
  Tree, MIN_TABLE, getChild, setChild, removeChild, destroyNode, destroySubtree, findSeq, destroySeq,
} from "./tree";
import { DEBUG } from "./debug";

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
      // Nothing is indexed below maxDepth tokens: only there may the walk
      // stop short of the sequence's end.
      if (!child) {
        if (DEBUG) assert(idx - start == t.maxDepth, "remove: a suffix is missing from the tree");
        break;
      }
      if (child.count > 1) {
        decrementCount(child);
      } else {
        // No other suffix reaches the child: its whole subtree goes.
        if (DEBUG) assert(child.count == 1 && child.numChildren <= 1, "remove: dropping a subtree other suffixes reach");
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
        // Equal counts mean no suffix ends at the node: nothing is lost.
        if (DEBUG) assert(!node.endpoints && child.parent === node, "remove: merging a node where suffixes end");
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
    // them at a surviving sequence, through an endpoint of the first leaf
    // below when it has one.
    let leaf = node;
    let distance = 0;
    while (leaf.headChild) {
      leaf = leaf.headChild!;
      distance += leaf.length;
    }
    const ref = leaf.endpoints;
    if (!ref) continue;
    const refSeq = ref.seq!;
    if (DEBUG) assert(refSeq !== s, "remove: the removed sequence still has an endpoint");
    let refIdx = ref.idx - distance;
    while (depth > 0) {
      depth--;
      const n = changetype<Node>(load<usize>(pathBuf + (<usize>depth << 2)));
      refIdx -= n.length;
      if (DEBUG) assert(refIdx >= 0, "remove: re-pointed run starts before its sequence");
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
