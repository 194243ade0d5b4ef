// The integrity checker on deliberately corrupted trees: for every invariant
// the module checks, one real tree is corrupted in memory so that exactly that
// invariant breaks, and the checker must name it and the node it broke at.
// Then the corruption is undone, and the same tree must pass again.
import { describe, expect, it } from "vitest";
import { SuffixTree, createSuffixRuntime, type SuffixRuntime } from "../src/index.js";
import { integrityCodes } from "../src/integrity.js";
import { TreeMemory } from "./tree-memory.js";

// Repeats, branches, compressed runs and shared suffixes across two sequences.
function buildTree(rt: SuffixRuntime): SuffixTree {
  const tree = new SuffixTree(6, rt);
  tree.extend(0, [1, 2, 3, 1, 2, 4, 1, 2, 3, 5, 2, 3, 1]);
  tree.extend(1, [2, 3, 1, 2, 4, 4, 1]);
  return tree;
}

interface Corruption {
  /** Breaks exactly one invariant; returns the node the checker must report. */
  corrupt(m: TreeMemory): number;
}

// Nodes the cases pick from, found by shape rather than by address.
const nonRoot = (m: TreeMemory) => m.nodes().filter((n) => n !== m.root);
const innerNonRoot = (m: TreeMemory) => nonRoot(m).filter((n) => m.get(n, "Node.numChildren") >= 2);
const pick = (nodes: number[], what: string) => {
  if (nodes.length === 0) throw new Error(`the test tree has no ${what}`);
  return nodes[0];
};

const cases: Record<string, Corruption> = {
  CHILD_PARENT: {
    corrupt(m) {
      // A grandchild of the root claims the root as its parent.
      const c = pick(nonRoot(m).filter((n) => m.get(n, "Node.parent") !== m.root), "node below depth 1");
      m.set(c, "Node.parent", m.root);
      return c;
    },
  },
  ROOT_SHAPE: {
    corrupt(m) {
      m.set(m.root, "Node.length", 1);
      return m.root;
    },
  },
  NODE_EMPTY: {
    corrupt(m) {
      const n = pick(innerNonRoot(m), "inner node");
      m.set(n, "Node.length", 0);
      return n;
    },
  },
  CHILD_COUNT_NOT_LESS: {
    corrupt(m) {
      // The most frequent child of a non-root node as frequent as its parent.
      const p = pick(innerNonRoot(m), "inner node");
      const c = m.children(p)[0];
      m.set(c, "Node.count", m.get(p, "Node.count"));
      return c;
    },
  },
  BAD_REF: {
    corrupt(m) {
      const n = pick(nonRoot(m), "node");
      m.set(n, "Node.refIdx", 1 << 20);
      return n;
    },
  },
  BAD_FIRST_TOKEN: {
    corrupt(m) {
      // Shift the run back one token, onto a different first token, staying
      // inside the referenced sequence.
      const n = pick(
        nonRoot(m).filter((x) => {
          const idx = m.get(x, "Node.refIdx");
          return idx >= 1 && m.seqToken(m.get(x, "Node.ref"), idx - 1) !== m.get(x, "Node.token");
        }),
        "node whose run can shift onto another token",
      );
      m.set(n, "Node.refIdx", m.get(n, "Node.refIdx") - 1);
      return n;
    },
  },
  NOT_IN_PARENT: {
    corrupt(m) {
      // A token no edge of the parent carries.
      const n = pick(nonRoot(m), "node");
      m.set(n, "Node.token", 999);
      return n;
    },
  },
  BAD_ENDPOINT: {
    corrupt(m) {
      const n = pick(nonRoot(m).filter((x) => m.endpoints(x).length > 0), "node with endpoints");
      m.set(m.endpoints(n)[0], "Endpoint.idx", 0);
      return n;
    },
  },
  SIBLING_LINKS: {
    corrupt(m) {
      const second = m.children(pick(innerNonRoot(m), "inner node"))[1];
      m.set(second, "Node.prevSibling", 0);
      return second;
    },
  },
  SIBLING_ORDER: {
    corrupt(m) {
      // The root's children are exempt from the count-below-parent check, so
      // only the order breaks.
      const [head, second] = m.children(m.root);
      m.set(second, "Node.count", m.get(head, "Node.count") + 1);
      return second;
    },
  },
  GROUP_LINKS: {
    corrupt(m) {
      const n = pick(nonRoot(m), "node");
      m.set(n, "Node.group", 0);
      return n;
    },
  },
  CHILD_TOTAL: {
    corrupt(m) {
      const p = pick(innerNonRoot(m), "inner node");
      m.set(p, "Node.numChildren", m.get(p, "Node.numChildren") + 1);
      return p;
    },
  },
  SUFFIX_MISSING: {
    corrupt(m) {
      // Unlink a node's only endpoint record: the structure stays sound, but
      // the suffix that ends there no longer finds its record.
      const n = pick(nonRoot(m).filter((x) => m.endpoints(x).length === 1), "node with one endpoint");
      m.set(n, "Node.endpoints", 0);
      return n;
    },
  },
  COUNT_MISMATCH: {
    corrupt(m) {
      // One more suffix than start at the root; its children's sum still fits.
      m.set(m.root, "Node.count", m.get(m.root, "Node.count") + 1);
      return m.root;
    },
  },
  CHILDREN_SUM: {
    corrupt(m) {
      // The root's children are exempt from the count-below-parent check, so
      // only their sum exceeds it.
      m.set(m.root, "Node.count", m.get(m.root, "Node.count") - 1);
      return m.root;
    },
  },
};

describe("integrity checker on corrupted trees", () => {
  const codes = integrityCodes(createSuffixRuntime());

  it("has a corruption case for every code the module checks", () => {
    expect(codes.map((c) => c.code)).toEqual(codes.map((_, i) => i + 1));
    expect(codes.map((c) => c.name).sort()).toEqual(Object.keys(cases).sort());
  });

  for (const { code, name, message } of codes) {
    it(`${name} (code ${code}) is reported with its failing node`, () => {
      // A runtime of its own, so a checker gone wrong cannot harm other tests.
      const rt = createSuffixRuntime();
      const tree = buildTree(rt);
      const m = new TreeMemory(rt, tree.live());
      expect(tree.checkIntegrity()).toBeNull();
      const expected = cases[name].corrupt(m);
      const failure = tree.integrityFailure();
      expect({ code: failure?.code, name: failure?.name, message: failure?.message }).toEqual({ code, name, message });
      expect(failure?.node?.address).toBe(expected);
      const text = tree.checkIntegrity()!;
      expect(text.startsWith(`${name} (code ${code}): ${message}; at `)).toBe(true);
      if (expected === m.root) {
        expect(text).toContain(`at the root (count ${m.get(m.root, "Node.count")})`);
      } else {
        const token = m.get(expected, "Node.token");
        expect(text).toContain(`the node with first token ${token} (count ${m.get(expected, "Node.count")}, length ${m.get(expected, "Node.length")})`);
        expect(failure?.node?.path).toEqual(m.path(expected));
        expect(text).toContain(`through first tokens [${m.path(expected).join(", ")}]`);
      }
      m.restore();
      expect(tree.checkIntegrity()).toBeNull();
      tree.dispose();
    });
  }

  it("reports a node whose parent chain is broken without following it", () => {
    const rt = createSuffixRuntime();
    const tree = buildTree(rt);
    const m = new TreeMemory(rt, tree.live());
    const grandchild = pick(nonRoot(m).filter((n) => m.get(n, "Node.parent") !== m.root), "node below depth 1");
    // A cycle: the checker flags the child, the report must not loop.
    m.set(grandchild, "Node.parent", grandchild);
    expect(tree.integrityFailure()?.node?.path).toBeNull();
    expect(tree.checkIntegrity()).toMatch(/^CHILD_PARENT .*whose parent chain does not reach the root$/);
    m.restore();
    tree.dispose();
  });

  it("reads every record field from the module's layout, 4 bytes each", () => {
    const layout = createSuffixRuntime().layout;
    for (const record of ["Tree", "Node", "Group", "Endpoint", "Seq"]) {
      const offsets = [...layout].filter(([k]) => k.startsWith(`${record}.`)).map(([, v]) => v).sort((a, b) => a - b);
      expect(offsets, record).toEqual(offsets.map((_, i) => 4 * i));
      expect(layout.get(record), record).toBe(4 * offsets.length);
    }
  });
});
