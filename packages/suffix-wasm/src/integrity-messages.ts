// Messages for the codes returned by the wasm integrity checker
// (assembly/integrity.ts), by code number.
export const INTEGRITY_MESSAGES: Record<number, string> = {
  1: "a child node does not point back at its parent",
  2: "the root has a parent, a length, endpoints or a reference",
  3: "a non-root node has a non-positive length or count",
  4: "a child's count is not below its parent's (they should have been merged)",
  5: "a node references a missing sequence or a range outside it",
  6: "a node's first token differs from its referenced token",
  7: "a node is not its parent's edge for its first token",
  8: "an endpoint refers to a missing sequence or its tokens do not match the path",
  9: "head/tail/previous/next sibling pointers are inconsistent",
  10: "children are not ordered by non-increasing count",
  11: "equal-count sibling runs do not match their groups",
  12: "a node's child total differs from its sibling list",
  13: "a stored suffix cannot be found from the root with its endpoint",
  14: "a node's count differs from the number of suffixes through it",
  15: "children's counts add up to more than their parent's",
};
