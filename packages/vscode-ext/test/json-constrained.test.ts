// JSON documents: the language server sends the text before the cursor as the
// server's `json_prefix`, so a suggestion keeps the document a valid JSON
// prefix; when that text is not one (the server answers 400 on json_prefix),
// it asks again without the constraint. Real language server over stdio, real
// Glimpse server on the embedded model. Validity is judged by a JSON-prefix
// checker written here (checked itself against JSON.parse).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contextWindow } from "../src/server/context-window.js";
import { postprocess, stopsFor } from "../src/server/postprocess.js";
import { DEFAULT_SETTINGS } from "../src/shared/protocol.js";
import { startGlimpseServer, startLsp, type GlimpseServer, type LspSession } from "./harness.js";

// --- an independent JSON-prefix checker ------------------------------------------------------

/**
 * Whether `text` is the start of some JSON document (RFC 8259): a character
 * scanner with a stack of open containers and the token in progress.
 * Returns "complete" when it is a whole document.
 */
function jsonPrefixState(text: string): "invalid" | "prefix" | "complete" {
  type Expect = "value" | "key" | "colon" | "comma" | "end";
  const stack: ("{" | "[")[] = [];
  // Widened: closures assign it, which narrowing does not see.
  let want = "value" as Expect;
  let firstInContainer = false; // just after { or [: } or ] may close it at once
  let i = 0;
  const ws = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r";
  const afterValue = () => {
    want = stack.length === 0 ? "end" : "comma";
  };
  while (i < text.length) {
    const c = text[i];
    if (ws(c)) {
      i++;
      continue;
    }
    if (want === "end") return "invalid";
    if ((c === "}" || c === "]") && (want === "comma" || (firstInContainer && (want === "key" || want === "value")))) {
      if (stack.pop() !== (c === "}" ? "{" : "[")) return "invalid";
      firstInContainer = false;
      afterValue();
      i++;
      continue;
    }
    if (want === "comma") {
      if (c !== ",") return "invalid";
      want = stack[stack.length - 1] === "{" ? "key" : "value";
      firstInContainer = false;
      i++;
      continue;
    }
    if (want === "colon") {
      if (c !== ":") return "invalid";
      want = "value";
      i++;
      continue;
    }
    if (want === "key") {
      if (c !== '"') return "invalid";
      const end = scanString(text, i);
      if (end === "invalid") return "invalid";
      if (end === "open") return "prefix";
      i = end;
      want = "colon";
      firstInContainer = false;
      continue;
    }
    // A value.
    firstInContainer = false;
    if (c === "{" || c === "[") {
      stack.push(c);
      want = c === "{" ? "key" : "value";
      firstInContainer = true;
      i++;
      continue;
    }
    if (c === '"') {
      const end = scanString(text, i);
      if (end === "invalid") return "invalid";
      if (end === "open") return "prefix";
      i = end;
      afterValue();
      continue;
    }
    const m = /^(?:true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)/.exec(text.slice(i));
    const word = /^[-+.0-9a-zA-Z]*/.exec(text.slice(i))![0];
    if (m && m[0] === word) {
      // A whole literal or number (a number at the very end may still go on: still a prefix).
      i += word.length;
      afterValue();
      continue;
    }
    // The rest of the text is an unfinished literal or number.
    const numberStart = /^-$|^-?(?:0|[1-9][0-9]*)(?:\.[0-9]*)?$|^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?[eE][+-]?$/;
    if (i + word.length === text.length && (["true", "false", "null"].some((l) => l.startsWith(word)) || numberStart.test(word))) {
      return "prefix";
    }
    return "invalid";
  }
  return want === "end" ? "complete" : "prefix";
}

/** From an opening quote: the index after the closing quote, "open" if the text ends inside, or "invalid". */
function scanString(text: string, start: number): number | "open" | "invalid" {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') return i + 1;
    if (c.charCodeAt(0) < 0x20) return "invalid";
    if (c === "\\") {
      const e = text[i + 1];
      if (e === undefined) return "open";
      if (e === "u") {
        const hex = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]*$/.test(hex)) return "invalid";
        if (hex.length < 4) return "open";
        i += 6;
        continue;
      }
      if (!'"\\/bfnrt'.includes(e)) return "invalid";
      i += 2;
      continue;
    }
    i++;
  }
  return "open";
}

const isJsonPrefix = (text: string) => jsonPrefixState(text) !== "invalid";

describe("the JSON-prefix checker of this test", () => {
  const documents = [
    '{"a": 1, "b": [true, false, null], "c": {"d": "e\\"f\\u00e9"}, "g": -1.5e+3}',
    '[\n  {"id": 1, "name": "x"},\n  {"id": 2, "tags": []}\n]\n',
    '{}',
    '  "just a string"  ',
    '0',
    '[[], {}, [[1]], {"k": {}}]',
  ];
  it("accepts every prefix of valid documents, and calls exactly the whole ones complete (as JSON.parse does)", () => {
    for (const d of documents) {
      for (let n = 0; n <= d.length; n++) {
        const p = d.slice(0, n);
        const state = jsonPrefixState(p);
        expect(state, JSON.stringify(p)).not.toBe("invalid");
        let parses = true;
        try {
          JSON.parse(p);
        } catch {
          parses = false;
        }
        // A number that may still grow ("1" in "12") parses and is complete: both agree.
        expect(state === "complete", JSON.stringify(p)).toBe(parses);
      }
    }
  });
  it("rejects text no document starts with", () => {
    for (const bad of ['{"a" 1', "[1,]", "{,", "01", "tru e", '"\\x"', '{"a": 1}}', "[1 2]", '{"a": 1,}', "]", '{"a":: 1}', "nul1", '{1: 2}', "// comment\n{", '{"a": 1} x', ".", "-.5", "1.e5", '"tab\there"']) {
      expect(jsonPrefixState(bad), bad).toBe("invalid");
    }
    for (const start of ["-", "1.", "-0.5e", "1E+", "fal", '"\\u00', '{"a": [tr']) expect(jsonPrefixState(start), start).toBe("prefix");
  });
});

// --- the language server against a real Glimpse server ----------------------------------------

interface Case {
  name: string;
  before: string;
  after: string;
}

const CASES: Case[] = [
  { name: "a member's value", before: '{\n  "id": 42,\n  "name": ', after: "\n}\n" },
  { name: "a nested value", before: '{\n  "name": "demo",\n  "version": "1.0.0",\n  "scripts": {\n    "build": ', after: "\n  }\n}\n" },
  { name: "the next key", before: '{\n  "compilerOptions": {\n    "strict": true,\n    ', after: "\n  }\n}\n" },
  { name: "an array element", before: '[\n  {"id": 1, "name": "a"},\n  {"id": 2, "name": "b"},\n  ', after: "\n]\n" },
  { name: "inside a key", before: '{\n  "dependencies": {\n    "', after: "\n  }\n}\n" },
  { name: "inside a string value", before: '{\n  "description": "A fast', after: "\n}\n" },
  { name: "after a value", before: '{\n  "a": [1, 2, 3', after: "\n}\n" },
  { name: "an empty document", before: "", after: "" },
];

let server: GlimpseServer;
let traceDir: string;
const sessions: LspSession[] = [];

beforeAll(async () => {
  server = await startGlimpseServer();
  traceDir = mkdtempSync(join(tmpdir(), "glimpse-json-"));
}, 90_000);

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await server?.stop();
  rmSync(traceDir, { recursive: true, force: true });
});

async function lsp(trace: string): Promise<LspSession> {
  // The language server inherits the environment: it writes one JSON line per answer.
  process.env.GLIMPSE_LSP_TRACE = trace;
  try {
    const s = await startLsp({ serverUrl: server.url, debounceMs: 0, maxTokens: 32, workspaceContext: false });
    sessions.push(s);
    return s;
  } finally {
    delete process.env.GLIMPSE_LSP_TRACE;
  }
}

async function completions(body: Record<string, unknown>): Promise<{ status: number; json: { choices?: { text: string }[]; error?: { param?: string } } }> {
  const r = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ temperature: 0, ...body }) });
  return { status: r.status, json: (await r.json()) as { choices?: { text: string }[]; error?: { param?: string } } };
}

/** The suggestion the language server should show: the server's answer to the same request, post-processed. */
async function expected(c: Case, jsonPrefix: boolean): Promise<string> {
  const ctx = contextWindow(c.before + c.after, c.before.length, DEFAULT_SETTINGS.prefixChars, DEFAULT_SETTINGS.suffixChars);
  const r = await completions({ prompt: ctx.prefix, suffix: ctx.suffix, max_tokens: 32, stop: stopsFor(ctx, "json"), ...(jsonPrefix ? { json_prefix: c.before } : {}) });
  expect(r.status).toBe(200);
  return postprocess(r.json.choices![0].text, ctx, "json");
}

const traceAnswers = (file: string) =>
  readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { event: string; raw?: string; jsonConstrained?: boolean }).filter((e) => e.event === "answer");

describe("suggestions in .json documents", () => {
  it("keep the text before the cursor a valid JSON prefix, through the server's json_prefix", { timeout: 120_000 }, async () => {
    const trace = join(traceDir, "valid.jsonl");
    const s = await lsp(trace);
    let shown = 0;
    let brokenUnconstrained = 0;
    for (const [i, c] of CASES.entries()) {
      expect(isJsonPrefix(c.before), c.name).toBe(true);
      const uri = `file:///work/demo/valid-${i}.json`;
      await s.open(uri, "json", c.before + c.after);
      const r = await s.inline(uri, c.before.length);
      const got = r?.items[0]?.insertText ?? "";
      // What the server answers with json_prefix, post-processed: the same suggestion.
      expect(got, c.name).toBe(await expected(c, true));
      expect(isJsonPrefix(c.before + got), `${c.name}: ${JSON.stringify(c.before + got)}`).toBe(true);
      if (got) shown++;
      // Control: the same request without json_prefix (what the extension sent before).
      if (!isJsonPrefix(c.before + (await expected(c, false)))) brokenUnconstrained++;
    }
    // The model said something in most places (an empty suggestion proves nothing).
    expect(shown).toBeGreaterThanOrEqual(CASES.length / 2);
    // Without the constraint some of these suggestions break the document: the check above can fail.
    expect(brokenUnconstrained).toBeGreaterThan(0);
    // Every request went out constrained, and every raw completion (before any cut) kept the document a JSON prefix.
    const answers = traceAnswers(trace);
    expect(answers.length).toBe(CASES.length);
    for (const [i, a] of answers.entries()) {
      expect(a.jsonConstrained, CASES[i].name).toBe(true);
      expect(isJsonPrefix(CASES[i].before + a.raw), `${CASES[i].name}: raw ${JSON.stringify(a.raw)}`).toBe(true);
    }
  });

  it("fall back to an unconstrained request when the text before the cursor is not a JSON prefix", { timeout: 60_000 }, async () => {
    const c: Case = { name: "a comment", before: '{\n  // the service name\n  "name": ', after: "\n}\n" };
    expect(isJsonPrefix(c.before)).toBe(false);
    // The server refuses the constraint, naming the field.
    const refused = await completions({ prompt: c.before, max_tokens: 8, json_prefix: c.before });
    expect(refused.status).toBe(400);
    expect(refused.json.error?.param).toBe("json_prefix");
    const trace = join(traceDir, "fallback.jsonl");
    const s = await lsp(trace);
    await s.open("file:///work/demo/commented.json", "json", c.before + c.after);
    const r = await s.inline("file:///work/demo/commented.json", c.before.length);
    const want = await expected(c, false);
    expect(r?.items[0]?.insertText ?? "").toBe(want);
    const answers = traceAnswers(trace);
    expect(answers).toHaveLength(1);
    expect(answers[0].jsonConstrained).toBe(false);
  });

  it("JSON with comments (jsonc) is not constrained", { timeout: 60_000 }, async () => {
    const trace = join(traceDir, "jsonc.jsonl");
    const s = await lsp(trace);
    const text = '{\n  // editor settings\n  "editor.tabSize": \n}\n';
    await s.open("file:///work/demo/settings.json", "jsonc", text);
    await s.inline("file:///work/demo/settings.json", text.indexOf('"editor.tabSize": ') + '"editor.tabSize": '.length);
    const answers = traceAnswers(trace);
    expect(answers).toHaveLength(1);
    expect(answers[0].jsonConstrained).toBe(false);
  });
});
