// The text before an editor's cursor in a .json file, read once in
// JavaScript: whether it is the start of a JSON document, and a short text
// that leaves a JSON grammar in the same state. XGrammar reads text at a few
// microseconds a character, and a json_prefix request would hand it the
// whole document before the cursor on every keystroke; what can follow a
// JSON prefix depends only on the open containers and the token being
// written, so the matcher is given that alone: `{"":[` + `"` for a string
// being written two levels down, however long the document.

/** Where a container stands: expecting a key, a colon, a value, a comma or its end. */
type Place = "start" | "key" | "colon" | "value" | "after" | "comma";

interface Frame {
  kind: "{" | "[" | "root";
  place: Place;
}

/** The token being written: a string (and its escape), a number (its part), a literal (its letters so far). */
type Token =
  | { kind: "string"; escape: number } // 0: none, 1: after "\", 2..5: after "\u" and escape - 2 hex digits
  | { kind: "number"; part: "-" | "0" | "1" | "0." | "0.0" | "0e" | "0e+" | "0e0" }
  | { kind: "literal"; word: string; seen: number };

export type JsonPrefixScan = { ok: true; compact: string } | { ok: false; offset: number };

const WS = new Set([" ", "\t", "\n", "\r"]);
const DIGIT = /[0-9]/;
const HEX = /[0-9a-fA-F]/;
const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);
const LITERALS: Record<string, string> = { t: "true", f: "false", n: "null" };

/** Scans `text`; if it is the start of a JSON document (RFC 8259, any value at the root), the short equivalent prefix. */
export function scanJsonPrefix(text: string): JsonPrefixScan {
  const stack: Frame[] = [{ kind: "root", place: "value" }];
  let token: Token | null = null;
  const top = () => stack[stack.length - 1];
  /** A value ended: its container moves on. */
  const valueDone = () => {
    const f = top();
    f.place = "after";
  };
  /** Starts a value at character c; false if c cannot start one. */
  const startValue = (c: string): boolean => {
    if (c === "{" || c === "[") {
      top().place = "value";
      stack.push({ kind: c, place: "start" });
    } else if (c === '"') token = { kind: "string", escape: 0 };
    else if (c === "-") token = { kind: "number", part: "-" };
    else if (c === "0") token = { kind: "number", part: "0" };
    else if (/[1-9]/.test(c)) token = { kind: "number", part: "1" };
    else if (c in LITERALS) token = { kind: "literal", word: LITERALS[c], seen: 1 };
    else return false;
    return true;
  };
  for (let i = 0; i < text.length; i++) {
    const t = token as Token | null;
    const code = text.charCodeAt(i);
    // Most of a document is string content: one comparison per character there.
    if (t?.kind === "string" && t.escape === 0 && code !== 0x22 && code !== 0x5c && code >= 0x20) continue;
    const c = text[i];
    if (t?.kind === "string") {
      if (t.escape === 1) {
        if (c === "u") t.escape = 2;
        else if (ESCAPES.has(c)) t.escape = 0;
        else return { ok: false, offset: i };
      } else if (t.escape >= 2) {
        if (!HEX.test(c)) return { ok: false, offset: i };
        t.escape = t.escape === 5 ? 0 : t.escape + 1;
      } else if (c === "\\") t.escape = 1;
      else if (c === '"') {
        token = null;
        const f = top();
        if (f.place === "key") f.place = "colon";
        else valueDone();
      } else if (c.charCodeAt(0) < 0x20) return { ok: false, offset: i };
      continue;
    }
    if (t?.kind === "literal") {
      if (c !== t.word[t.seen]) return { ok: false, offset: i };
      if (++t.seen === t.word.length) {
        token = null;
        valueDone();
      }
      continue;
    }
    if (t?.kind === "number") {
      const next = numberStep(t.part, c);
      if (next) {
        t.part = next;
        continue;
      }
      if (t.part === "-" || t.part === "0." || t.part === "0e" || t.part === "0e+") return { ok: false, offset: i };
      token = null;
      valueDone(); // and c is read in the container's place, below
    }
    if (WS.has(c)) continue;
    const f = top();
    switch (f.place) {
      case "start":
        if (f.kind === "{" && c === '"') {
          f.place = "key";
          token = { kind: "string", escape: 0 };
        } else if (c === (f.kind === "{" ? "}" : "]")) {
          stack.pop();
          valueDone();
        } else if (f.kind !== "[" || !startValue(c)) return { ok: false, offset: i };
        break;
      case "comma":
        if (f.kind === "{" && c === '"') {
          f.place = "key";
          token = { kind: "string", escape: 0 };
        } else if (f.kind !== "[" || !startValue(c)) return { ok: false, offset: i };
        break;
      case "colon":
        if (c !== ":") return { ok: false, offset: i };
        f.place = "value";
        break;
      case "value":
        if (!startValue(c)) return { ok: false, offset: i };
        break;
      case "after":
        if (f.kind !== "root" && c === ",") f.place = "comma";
        else if (f.kind !== "root" && c === (f.kind === "{" ? "}" : "]")) {
          stack.pop();
          valueDone();
        } else return { ok: false, offset: i };
        break;
      default:
        return { ok: false, offset: i };
    }
  }
  return { ok: true, compact: compactOf(stack, token) };
}

/** The number's part after one more character, or null if c does not continue it. */
function numberStep(part: Extract<Token, { kind: "number" }>["part"], c: string): Extract<Token, { kind: "number" }>["part"] | null {
  const digit = DIGIT.test(c);
  switch (part) {
    case "-":
      return c === "0" ? "0" : digit ? "1" : null;
    case "0":
    case "1":
      if (digit) return part === "1" ? "1" : null;
      return c === "." ? "0." : c === "e" || c === "E" ? "0e" : null;
    case "0.":
      return digit ? "0.0" : null;
    case "0.0":
      return digit ? "0.0" : c === "e" || c === "E" ? "0e" : null;
    case "0e":
      return c === "+" || c === "-" ? "0e+" : digit ? "0e0" : null;
    case "0e+":
    case "0e0":
      return digit ? "0e0" : null;
  }
}

/** A short text in the same state: each open container as little as reaches it, then the token being written. */
function compactOf(stack: Frame[], token: Token | null): string {
  let out = "";
  stack.forEach((f, depth) => {
    const inner = depth === stack.length - 1;
    if (f.kind === "root") {
      if (inner && f.place === "after") out += "null";
      return;
    }
    out += f.kind;
    if (f.kind === "[") {
      if (inner && f.place === "after") out += "null";
      else if (inner && f.place === "comma") out += "null,";
      return;
    }
    if (!inner || f.place === "value") out += '"":';
    else if (f.place === "colon") out += '""';
    else if (f.place === "after") out += '"":null';
    else if (f.place === "comma") out += '"":null,';
  });
  const t = token as Token | null;
  if (t?.kind === "string") out += `"${t.escape === 1 ? "\\" : t.escape >= 2 ? `\\u${"0".repeat(t.escape - 2)}` : ""}`;
  else if (t?.kind === "number") out += t.part;
  else if (t?.kind === "literal") out += t.word.slice(0, t.seen);
  return out;
}
