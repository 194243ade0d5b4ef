// The invariants the integrity checker verifies: the one table of their
// codes, names and messages. The host reads names and messages from the
// module (the `integrityCode` export), so no other file repeats them. Codes
// are stable: a new check gets the next number.

export enum Check {
  OK = 0,
  CHILD_PARENT,
  ROOT_SHAPE,
  NODE_EMPTY,
  CHILD_COUNT_NOT_LESS,
  BAD_REF,
  BAD_FIRST_TOKEN,
  NOT_IN_PARENT,
  BAD_ENDPOINT,
  SIBLING_LINKS,
  SIBLING_ORDER,
  GROUP_LINKS,
  CHILD_TOTAL,
  SUFFIX_MISSING,
  COUNT_MISMATCH,
  CHILDREN_SUM,
}

// "NAME: message" for a code; null for OK and past the last code.
export function describeCheck(code: i32): string | null {
  switch (code) {
    case Check.CHILD_PARENT: return "CHILD_PARENT: a child node does not point back at its parent";
    case Check.ROOT_SHAPE: return "ROOT_SHAPE: the root has a parent, a length, endpoints, a reference or a negative count";
    case Check.NODE_EMPTY: return "NODE_EMPTY: a non-root node has a non-positive length or count";
    case Check.CHILD_COUNT_NOT_LESS: return "CHILD_COUNT_NOT_LESS: a child's count is not below its parent's (they should have been merged)";
    case Check.BAD_REF: return "BAD_REF: a node references a missing sequence or a range outside it";
    case Check.BAD_FIRST_TOKEN: return "BAD_FIRST_TOKEN: a node's first token differs from its referenced token";
    case Check.NOT_IN_PARENT: return "NOT_IN_PARENT: a node is not its parent's edge for its first token";
    case Check.BAD_ENDPOINT: return "BAD_ENDPOINT: an endpoint refers to a missing sequence or its tokens do not match the path";
    case Check.SIBLING_LINKS: return "SIBLING_LINKS: head/tail/previous/next sibling pointers are inconsistent";
    case Check.SIBLING_ORDER: return "SIBLING_ORDER: children are not ordered by non-increasing count";
    case Check.GROUP_LINKS: return "GROUP_LINKS: equal-count sibling runs do not match their groups";
    case Check.CHILD_TOTAL: return "CHILD_TOTAL: a node's child total differs from its sibling list";
    case Check.SUFFIX_MISSING: return "SUFFIX_MISSING: a stored suffix cannot be found from the root with its endpoint";
    case Check.COUNT_MISMATCH: return "COUNT_MISMATCH: a node's count differs from the number of suffixes through it";
    case Check.CHILDREN_SUM: return "CHILDREN_SUM: children's counts add up to more than their parent's";
  }
  return null;
}
