// What the structured-output tests share: schemas written for them, ajv as
// the independent validator, a JSON-prefix checker written here (not the
// engine's), and requests that collect a response streamed or not.

import { Ajv } from "ajv";
import { expect } from "vitest";

export const ajv = new Ajv({ strict: false, allErrors: true });

/** Validates `value` against `schema` with ajv; fails the test with ajv's errors otherwise. */
export function expectValid(schema: object, value: unknown, context = ""): void {
  const validate = ajv.compile(schema);
  expect(validate(value), `${context} ${JSON.stringify(value)}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

/** Every string and array bounded, so that a constrained answer ends by itself. */
export const PROJECT_SCHEMA = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1, maxLength: 12 },
    language: { enum: ["python", "typescript", "rust"] },
    tested: { type: "boolean" },
    tags: { type: "array", items: { type: "string", maxLength: 8 }, maxItems: 3 },
  },
  required: ["name", "language", "tested"],
  additionalProperties: false,
};

export const REGEX = "(yes|no), [0-9]{2} (apples|pears)";
/** The same language, written as a JS RegExp here rather than derived from REGEX. */
export const REGEX_JS = /^(yes|no), [0-9]{2} (apples|pears)$/;

export const CHOICES = ["red", "green", "blue"];

export const GRAMMAR = [
  "root ::= \"SELECT \" column \" FROM users WHERE id = \" digit digit \";\"",
  "column ::= \"id\" | \"name\" | \"email\"",
  "digit ::= [0-9]",
].join("\n");
export const GRAMMAR_JS = /^SELECT (id|name|email) FROM users WHERE id = [0-9][0-9];$/;

export interface Collected {
  status: number;
  /** The whole response (non-streamed), or every parsed event (streamed). */
  body: any;
  events: any[];
  /** Choice 0's text: content (chat) or text (completions), joined across chunks when streamed. */
  text: string;
  finish: string | null;
}

/** Sends a request, streamed or not, and returns choice 0's text and finish reason. */
export async function collect(url: string, path: string, body: Record<string, unknown>): Promise<Collected> {
  const res = await fetch(url + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const raw = await res.text();
  const chat = path.includes("chat");
  if (!body.stream || res.status !== 200) {
    const json = raw ? JSON.parse(raw) : null;
    const c = json?.choices?.[0];
    return { status: res.status, body: json, events: [], text: (chat ? c?.message?.content : c?.text) ?? "", finish: c?.finish_reason ?? null };
  }
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const lines = raw.split("\n").filter((l) => l.startsWith("data: "));
  expect(lines.at(-1)).toBe("data: [DONE]");
  const events = lines.slice(0, -1).map((l) => JSON.parse(l.slice(6)));
  let text = "";
  let finish: string | null = null;
  for (const e of events) {
    expect(e.error, JSON.stringify(e)).toBeUndefined();
    for (const c of e.choices ?? []) {
      if (c.index !== 0) continue;
      text += (chat ? c.delta?.content : c.text) ?? "";
      finish = c.finish_reason ?? finish;
    }
  }
  return { status: res.status, body: null, events, text, finish };
}

/**
 * Whether `text` is the beginning of some JSON document (RFC 8259; a
 * complete document counts). A small recursive-descent reader that treats
 * the end of the text as "could go on".
 */
export function isJsonPrefix(text: string): boolean {
  const END = Symbol("end");
  let i = 0;
  const peek = () => {
    if (i >= text.length) throw END;
    return text[i];
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const literal = (word: string) => {
    for (const ch of word) if (peek() !== ch) return false; else i++;
    return true;
  };
  const string = (): boolean => {
    i++; // the opening quote
    for (;;) {
      const c = peek();
      i++;
      if (c === "\"") return true;
      if (c < " ") return false;
      if (c === "\\") {
        const e = peek();
        i++;
        if (e === "u") {
          for (let k = 0; k < 4; k++) {
            if (!/[0-9a-fA-F]/.test(peek())) return false;
            i++;
          }
        } else if (!"\"\\/bfnrt".includes(e)) return false;
      }
    }
  };
  const digits = (atLeastOne: boolean) => {
    const from = i;
    while (/[0-9]/.test(peek())) i++;
    return !atLeastOne || i > from;
  };
  const number = (): boolean => {
    if (peek() === "-") i++;
    if (peek() === "0") i++;
    else if (/[1-9]/.test(peek())) digits(false);
    else return false;
    if (i < text.length && text[i] === ".") {
      i++;
      if (!digits(true)) return false;
    }
    if (i < text.length && (text[i] === "e" || text[i] === "E")) {
      i++;
      if (peek() === "+" || peek() === "-") i++;
      if (!digits(true)) return false;
    }
    return true;
  };
  const container = (close: string, item: () => boolean): boolean => {
    i++;
    ws();
    if (peek() === close) {
      i++;
      return true;
    }
    for (;;) {
      if (!item()) return false;
      ws();
      const c = peek();
      i++;
      if (c === close) return true;
      if (c !== ",") return false;
      ws();
    }
  };
  const value = (): boolean => {
    const c = peek();
    if (c === "{") return container("}", () => peek() === "\"" && string() && (ws(), peek() === ":") && (i++, ws(), value()));
    if (c === "[") return container("]", value);
    if (c === "\"") return string();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    if (c === "-" || /[0-9]/.test(c)) return number();
    return false;
  };
  try {
    ws();
    if (!value()) return false;
    ws();
    return i === text.length;
  } catch (e) {
    if (e === END) return true;
    throw e;
  }
}
