// Pure unit tests: cache, context window and line policy, JSON stopping, post-processing.

import { describe, expect, it } from "vitest";
import { CompletionCache } from "../src/server/completion-cache.js";
import { MIN_BURST_WAIT_MS, debounceWait } from "../src/server/debounce.js";
import { contextWindow, wantsMultiline } from "../src/server/context-window.js";
import { inValuePosition, stopJson } from "../src/server/json-stopping.js";
import { nextLineSuggestion, postprocess, wantsNextLine } from "../src/server/postprocess.js";

describe("CompletionCache", () => {
  it("hits on the same context and misses on another", () => {
    const c = new CompletionCache();
    c.set("const a = ", ";\n", "typescript", "1");
    expect(c.get("const a = ", ";\n", "typescript")).toEqual({ text: "1", kind: "exact", typed: 0 });
    expect(c.get("const a = ", ";\n", "javascript")).toBeUndefined();
    expect(c.get("const b = ", ";\n", "typescript")).toBeUndefined();
    expect(c.get("const a = ", "\n", "typescript")).toBeUndefined();
  });

  it("keys on the end of the prefix only, so a moved window still hits", () => {
    const c = new CompletionCache();
    const tail = "x".repeat(600);
    c.set("AAAA" + tail, "", "ts", "yes");
    expect(c.get("BBBB" + tail, "", "ts")?.text).toBe("yes");
  });

  it("reuses a suggestion typed through, and stops when it is fully typed", () => {
    const c = new CompletionCache();
    c.set("return ", "\n}", "ts", "a + b;");
    expect(c.get("return a", "\n}", "ts")).toEqual({ text: " + b;", kind: "typed-through", typed: 1 });
    // Found through the entry the previous lookup stored for "return a".
    expect(c.get("return a +", "\n}", "ts")).toEqual({ text: " b;", kind: "typed-through", typed: 2 });
    // A character the suggestion did not predict: no reuse.
    expect(c.get("return x", "\n}", "ts")).toBeUndefined();
    // Typed to the end: ask anew.
    expect(c.get("return a + b;", "\n}", "ts")).toBeUndefined();
  });

  it("evicts the least recently used entries", () => {
    const c = new CompletionCache(2);
    c.set("a", "", "ts", "1");
    c.set("b", "", "ts", "2");
    c.get("a", "", "ts");
    c.set("c", "", "ts", "3");
    expect(c.get("a", "", "ts")?.text).toBe("1");
    expect(c.get("b", "", "ts")).toBeUndefined();
    expect(c.size).toBe(2);
  });
});

describe("context window", () => {
  it("cuts the prefix and suffix to their budgets at line boundaries", () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n");
    const offset = lines.indexOf("line 50");
    const w = contextWindow(lines, offset, 100, 50);
    expect(w.prefix.length).toBeLessThanOrEqual(100);
    expect(w.prefix.startsWith("line ")).toBe(true);
    expect(lines.slice(0, offset).endsWith(w.prefix)).toBe(true);
    expect(w.suffix.length).toBeLessThanOrEqual(50);
    expect(w.suffix.endsWith("\n")).toBe(true);
    expect(lines.slice(offset).startsWith(w.suffix)).toBe(true);
  });

  it("chooses single or multi-line by what surrounds the cursor", () => {
    expect(wantsMultiline("function f() {", "")).toBe(true);
    expect(wantsMultiline("    ", "")).toBe(true);
    expect(wantsMultiline("const x = [", "]")).toBe(true);
    expect(wantsMultiline("  return ", "")).toBe(false);
    expect(wantsMultiline("foo(", "bar)")).toBe(false);
    expect(wantsMultiline("const f = () =>", "")).toBe(true);
  });
});

describe("JSON stopping", () => {
  const ctx = (linePrefix: string, suffix = "\n}") => ({ linePrefix, suffix });

  it("recognises value positions", () => {
    expect(inValuePosition('  "name": ')).toBe(true);
    expect(inValuePosition('  "name": "gl')).toBe(true);
    expect(inValuePosition('  "a:b')).toBe(false);
    expect(inValuePosition('  "name": "x", ')).toBe(false);
    expect(inValuePosition("  ")).toBe(false);
  });

  it("stops after a string value, keeping a comma when more members follow", () => {
    expect(stopJson('"1.0.0",\n  "main": "index.js"', ctx('  "version": ', "\n}"))).toBe('"1.0.0"');
    expect(stopJson('"1.0.0",\n  "main": "index.js"', ctx('  "version": ', '\n  "main": "x"\n}'))).toBe('"1.0.0",');
    expect(stopJson('0.0",\n', ctx('  "version": "1.'))).toBe('0.0"');
  });

  it("offers nothing when the model puts a line break where the value goes", () => {
    expect(stopJson('\n  "private": true,', ctx('  "version": ', "\n}"))).toBe("");
    // A line break inside a bracket the completion opened is fine.
    expect(stopJson('{\n    "a": 1\n  }', ctx('  "x": ', "\n}"))).toBe('{\n    "a": 1\n  }');
  });

  it("stops after a bare value", () => {
    expect(stopJson("true,\n  \"b\": 1", ctx('  "a": ', '\n  "c": 2\n}'))).toBe("true,");
    expect(stopJson("42\n}", ctx('  "a": '))).toBe("42");
  });

  it("completes a balanced object value across lines", () => {
    const obj = '{\n    "x": 1,\n    "y": [1, 2]\n  },\n  "next": 3';
    expect(stopJson(obj, ctx('  "point": '))).toBe('{\n    "x": 1,\n    "y": [1, 2]\n  }');
  });

  it("completes one member line at a time, and never closes the enclosing object", () => {
    expect(stopJson('"main": "index.js",\n  "license": "MIT"\n}', ctx("  ", "\n}"))).toBe('"main": "index.js",');
    expect(stopJson("\n}", ctx('  "a": 1', "\n}"))).toBe("\n");
    expect(stopJson('"deps": {\n    "a": "1"\n  },\n  "b": 2', ctx("  ", "\n}"))).toBe('"deps": {\n    "a": "1"\n  },');
  });

  it("adds the comma a member needs when another member follows", () => {
    const next = '\n  "scripts": {}\n}';
    expect(stopJson('dependencies": {\n    "a": "1"\n  }\n', ctx('  "', next))).toBe('dependencies": {\n    "a": "1"\n  },');
    expect(stopJson('"type": "module"\n', ctx("  ", next))).toBe('"type": "module",');
    expect(stopJson('"type": "module"\n', ctx("  ", "\n}"))).toBe('"type": "module"');
    expect(stopJson('"type": "module",\n', ctx("  ", next))).toBe('"type": "module",');
  });

  it("never lets a string run over a line end", () => {
    expect(stopJson('"test": "vitest run\n  },', ctx('  "'))).toBe('"test": "vitest run');
    expect(stopJson("\nabc", ctx('  "a": "x'))).toBe("");
  });

  it("ignores brackets and colons inside strings", () => {
    expect(stopJson('"a}b]c",\n', ctx('  "k": '))).toBe('"a}b]c"');
  });
});

describe("postprocess", () => {
  const at = (text: string, marker = "|") => {
    const offset = text.indexOf(marker);
    return contextWindow(text.replace(marker, ""), offset, 3000, 1000);
  };

  it("keeps one line mid-function", () => {
    expect(postprocess("a + b;\n}\n", at("function f() {\n  return |\n}\n"), "typescript")).toBe("a + b;");
  });

  it("keeps the block after an opener and drops the closing line the suffix already has", () => {
    const ctx = at("function f() {|\n}\n");
    expect(postprocess("\n  const x = 1;\n  return x;\n}\n\nfunction g() {}", ctx, "typescript")).toBe("\n  const x = 1;\n  return x;");
  });

  it("keeps the closing line when the suffix does not close the block", () => {
    const ctx = at("function f() {|");
    expect(postprocess("\n  return 1;\n}\nconst y = 2;", ctx, "typescript")).toBe("\n  return 1;\n}");
  });

  it("drops a suggestion that only repeats the text after the cursor", () => {
    expect(postprocess(")", at("foo(a|)"), "typescript")).toBe("");
    expect(postprocess("  return 1;", at("{\n|\n  return 1;\n}"), "typescript")).toBe("");
    expect(postprocess("b, c)", at("foo(a, |)"), "typescript")).toBe("b, c");
  });

  it("drops a repeat of the typed part of the line", () => {
    expect(postprocess('"test": "vitest run"\n  },', at('{\n  "scripts": {\n    "test": |\n  }\n}'), "json")).toBe('"vitest run"');
    expect(postprocess('"name": "demo",\n', at('{\n  "|\n}'), "json")).toBe('name": "demo",');
    expect(postprocess("  return a + b;", at("function f(a, b) {\n  return |\n}"), "typescript")).toBe("a + b;");
    expect(postprocess("x + 1;", at("const y = |"), "typescript")).toBe("x + 1;");
  });

  it("gives nothing for whitespace", () => {
    expect(postprocess("\n\n  \n", at("const a = 1;\n|"), "typescript")).toBe("");
  });
});

describe("next line after an empty answer", () => {
  const at = (text: string, marker = "|") => {
    const offset = text.indexOf(marker);
    return contextWindow(text.replace(marker, ""), offset, 3000, 1000);
  };

  it("offers the next line of the model's continuation when it ends a line at once", () => {
    const ctx = at("const a = add(b, x|");
    expect(wantsNextLine("", ctx, "typescript")).toBe(true);
    expect(wantsNextLine("  ", ctx, "typescript")).toBe(true);
    expect(nextLineSuggestion("\nconst c = a;\nreturn c;", ctx, "typescript")).toBe("\nconst c = a;");
    expect(nextLineSuggestion("  \n  return c;", ctx, "typescript")).toBe("\n  return c;");
    // The next line is post-processed like any other: a blank line is no suggestion, nor is a repeat of the line below.
    expect(nextLineSuggestion("\n   \nfoo", ctx, "typescript")).toBe("");
    expect(nextLineSuggestion("x\nfoo", ctx, "typescript")).toBe("");
    expect(nextLineSuggestion("\nreturn a;", at("const a = add(b, x|\nreturn a;\n"), "typescript")).toBe("");
  });

  it("does not apply to an answer with text, text after the cursor, multi-line contexts, or JSON", () => {
    expect(wantsNextLine("y)", at("const a = add(b, x|"), "typescript")).toBe(false);
    expect(wantsNextLine("", at("const a = add(b, x|)"), "typescript")).toBe(false);
    expect(wantsNextLine("", at("function f() {|"), "typescript")).toBe(false);
    expect(wantsNextLine("", at("const a = 1;\n|"), "typescript")).toBe(false);
    expect(wantsNextLine("", at('{\n  "a": 1|'), "json")).toBe(false);
  });
});

describe("debounceWait", () => {
  it("waits for the next key as long as the typist's rhythm says one may come, within the setting", () => {
    // After a pause (the previous key longer ago than the setting): at once.
    expect(debounceWait(150, 2000, 50)).toBe(0);
    expect(debounceWait(150, 150, 50)).toBe(0);
    // Keys 60 ms apart: 90 ms after the last one, 50 ms of which have gone by.
    expect(debounceWait(150, 60, 50)).toBe(40);
    // Keys 120 ms apart: 1.5 times that is past the setting, so the setting.
    expect(debounceWait(150, 120, 50)).toBe(100);
    // Keys 10 ms apart (key repeat): the floor.
    expect(debounceWait(150, 10, 20)).toBe(MIN_BURST_WAIT_MS - 20);
    // The first edit of a document: the whole setting, from the keystroke.
    expect(debounceWait(150, undefined, 60)).toBe(90);
    // Already waited long enough, or no debounce at all.
    expect(debounceWait(150, 40, 500)).toBe(0);
    expect(debounceWait(0, 40, 0)).toBe(0);
  });
});
