// What replicas write to the shared Redis Stream, and how an entry read back
// is checked before it reaches the suffix tree: the stream is shared state
// that any client of that Redis can write to, so nothing read is trusted.
//
// Fields (strings, so `redis-cli XRANGE` stays readable):
//   r  the writing replica's id (a replica skips its own entries)
//   k  "r" a finished response, "d" a document added, "x" a document removed, "c" documents cleared
//   n  the document's name (d, x)
//   t  token ids, comma-separated (r, d)

/** Longest token list one entry carries; longer responses are cut (their head is what later requests repeat). */
export const MAX_ENTRY_TOKENS = 16_384;
const MAX_NAME_LENGTH = 256; // the engine's limit for document names

export type CacheOp =
  | { kind: "response"; tokens: number[] }
  | { kind: "document"; name: string; tokens: number[] }
  | { kind: "remove"; name: string }
  | { kind: "clear" };

export function encodeEntry(replica: string, op: CacheOp): Record<string, string> {
  switch (op.kind) {
    case "response":
      return { r: replica, k: "r", t: op.tokens.slice(0, MAX_ENTRY_TOKENS).join(",") };
    case "document":
      return { r: replica, k: "d", n: op.name, t: op.tokens.slice(0, MAX_ENTRY_TOKENS).join(",") };
    case "remove":
      return { r: replica, k: "x", n: op.name };
    case "clear":
      return { r: replica, k: "c" };
  }
}

/** The entry as an operation, or a reason it is refused (a foreign writer, another model's ids, a damaged entry). */
export function decodeEntry(fields: Record<string, string>, vocabSize: number): CacheOp | { error: string } {
  const name = () => {
    const n = fields.n;
    return typeof n === "string" && n.length > 0 && n.length <= MAX_NAME_LENGTH ? n : null;
  };
  switch (fields.k) {
    case "r": {
      const tokens = parseTokens(fields.t, vocabSize);
      return tokens ? { kind: "response", tokens } : { error: "bad token list" };
    }
    case "d": {
      const tokens = parseTokens(fields.t, vocabSize);
      const n = name();
      return tokens && n ? { kind: "document", name: n, tokens } : { error: "bad document" };
    }
    case "x": {
      const n = name();
      return n ? { kind: "remove", name: n } : { error: "bad document name" };
    }
    case "c":
      return { kind: "clear" };
    default:
      return { error: `unknown kind ${JSON.stringify(fields.k)}` };
  }
}

function parseTokens(text: string | undefined, vocabSize: number): number[] | null {
  if (typeof text !== "string" || text.length === 0) return null;
  const parts = text.split(",");
  if (parts.length > MAX_ENTRY_TOKENS) return null;
  const tokens = new Array<number>(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const t = Number(parts[i]);
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) return null;
    tokens[i] = t;
  }
  return tokens;
}

/** Milliseconds since the epoch at which Redis stamped an entry id ("<ms>-<seq>"). */
export function entryTime(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}
