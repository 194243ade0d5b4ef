// Children kept ordered by non-increasing count, with O(1) updates.
//
// Siblings form a doubly-linked list; siblings of equal count form a Group
// whose `head` is the first of the run, and groups are linked too. When a
// count changes by one, the node moves at most to the boundary of its run,
// which the group finds in O(1). The exact positions chosen here decide ties
// between equally frequent continuations, and they follow ArcticInference's
// suffix tree so that drafts are identical to the reference.

import { Node, newGroup, setGroup } from "./nodes";

export function removeFromSiblings(node: Node): void {
  const group = node.group!;
  const next = node.nextSibling;
  const prev = node.prevSibling;
  if (group.head === node) {
    if (next && next.count == node.count) {
      // Others remain in the run: the next one becomes its head.
      group.head = next;
      setGroup(node, null);
    } else {
      // The node is alone in its run: unlink the group but let the node keep
      // it, so a re-insert can reuse it.
      const gp = group.prev;
      const gn = group.next;
      if (gp) gp.next = gn;
      if (gn) gn.prev = gp;
      group.prev = null;
      group.next = null;
    }
  } else {
    setGroup(node, null);
  }
  const parent = node.parent!;
  if (next) next.prevSibling = prev;
  else parent.tailChild = prev;
  if (prev) prev.nextSibling = next;
  else parent.headChild = next;
  node.prevSibling = null;
  node.nextSibling = null;
}

// Link `node` into the groups list when it stands alone in its run, between
// the groups of `before` and `after` (either may be absent).
function linkSoloGroup(node: Node, before: Node | null, after: Node | null): void {
  let group = node.group;
  if (!group) {
    group = newGroup(node);
    setGroup(node, group);
  }
  if (before) {
    const bg = before.group!;
    group.prev = bg;
    bg.next = group;
  }
  if (after) {
    const ag = after.group!;
    group.next = ag;
    ag.prev = group;
  }
}

export function insertBefore(node: Node, other: Node): void {
  const parent = node.parent!;
  const prev = other.prevSibling;
  if (prev) prev.nextSibling = node;
  else parent.headChild = node;
  node.nextSibling = other;
  node.prevSibling = prev;
  other.prevSibling = node;
  if (prev && node.count == prev.count) {
    // Same count as the previous sibling: join its run at the end.
    setGroup(node, prev.group);
  } else if (node.count == other.count) {
    // Same count as the next sibling: become the head of its run.
    const g = other.group!;
    setGroup(node, g);
    g.head = node;
  } else {
    linkSoloGroup(node, prev, other);
  }
}

export function insertAfter(node: Node, other: Node): void {
  const parent = node.parent!;
  const next = other.nextSibling;
  if (next) next.prevSibling = node;
  else parent.tailChild = node;
  node.prevSibling = other;
  node.nextSibling = next;
  other.nextSibling = node;
  if (next && node.count == next.count) {
    // Same count as the next sibling: join its run, as its head.
    const g = next.group!;
    setGroup(node, g);
    if (g.head === next) g.head = node;
  } else if (node.count == other.count) {
    // Same count as the previous sibling: join its run at the end.
    setGroup(node, other.group);
  } else {
    linkSoloGroup(node, other, next);
  }
}

// `newNode` takes `oldNode`'s place (both have the same count).
export function replaceInSiblings(oldNode: Node, newNode: Node): void {
  const parent = oldNode.parent!;
  const next = oldNode.nextSibling;
  const prev = oldNode.prevSibling;
  if (next) next.prevSibling = newNode;
  else parent.tailChild = newNode;
  if (prev) prev.nextSibling = newNode;
  else parent.headChild = newNode;
  newNode.prevSibling = prev;
  newNode.nextSibling = next;
  oldNode.prevSibling = null;
  oldNode.nextSibling = null;
  const group = oldNode.group!;
  if (group.head === oldNode) group.head = newNode;
  setGroup(newNode, group);
  setGroup(oldNode, null);
}

export function incrementCount(node: Node): void {
  if (!node.parent) {
    node.count += 1;
    return;
  }
  const prev = node.prevSibling;
  if (!prev || prev.count > node.count + 1) {
    // Stays in place; it does not reach the previous run.
    const next = node.nextSibling;
    if (!next || next.count < node.count) {
      node.count += 1;
    } else {
      // Split off the front of its run into a run of its own.
      const orig = node.group!;
      orig.head = next;
      const g = newGroup(node);
      g.next = orig;
      const op = orig.prev;
      if (op) {
        g.prev = op;
        op.next = g;
      }
      orig.prev = g;
      setGroup(node, g);
      node.count += 1;
    }
  } else {
    // Move in front of the run the previous sibling belongs to.
    const other = prev.group!.head!;
    removeFromSiblings(node);
    node.count += 1;
    insertBefore(node, other);
  }
}

export function decrementCount(node: Node): void {
  if (!node.parent) {
    node.count -= 1;
    return;
  }
  const next = node.nextSibling;
  if (!next || next.count < node.count - 1) {
    // Stays in place; it does not reach the next run.
    const prev = node.prevSibling;
    if (!prev || prev.count > node.count) {
      node.count -= 1;
    } else {
      // Split off the end of its run into a run of its own.
      const orig = node.group!;
      const g = newGroup(node);
      g.prev = orig;
      const on = orig.next;
      if (on) {
        g.next = on;
        on.prev = g;
      }
      orig.next = g;
      setGroup(node, g);
      node.count -= 1;
    }
  } else if (next.count == node.count - 1) {
    // Stays in place and becomes the head of the next run.
    const ng = next.group!;
    ng.head = node;
    const own = node.group!;
    if (own.head === node) {
      // It was alone in its run: that group disappears.
      const gp = own.prev;
      const gn = own.next;
      if (gp) gp.next = gn;
      if (gn) gn.prev = gp;
    }
    setGroup(node, ng);
    node.count -= 1;
  } else {
    // Move behind its run, to the head of the following run (or the end).
    const otherGroup = node.group!.next;
    removeFromSiblings(node);
    node.count -= 1;
    if (!otherGroup) {
      insertAfter(node, node.parent!.tailChild!);
    } else {
      insertBefore(node, otherGroup.head!);
    }
  }
}

