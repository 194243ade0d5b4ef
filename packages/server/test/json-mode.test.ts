// The JSON-mode text filter (pure text in, text out).

import { describe, expect, it } from "vitest";
import { JsonObjectFilter } from "../src/json-mode.js";

function run(pieces: string[]) {
  const f = new JsonObjectFilter();
  let out = "";
  let done = false;
  for (const p of pieces) {
    const r = f.push(p);
    out += r.emit;
    done = r.done;
    if (done) break;
  }
  return { out, done };
}

describe("JsonObjectFilter", () => {
  it("drops text before the object and stops at its closing brace", () => {
    expect(run(["Sure! ", "{\"a\": [1, {\"b\": 2}]", "} and more"])).toEqual({ out: "{\"a\": [1, {\"b\": 2}]}", done: true });
  });
  it("ignores braces inside strings, including escaped quotes", () => {
    expect(run(["{\"s\": \"}{\\\"}\"", ", \"t\": 1}x"])).toEqual({ out: "{\"s\": \"}{\\\"}\", \"t\": 1}", done: true });
  });
  it("passes an unfinished object through", () => {
    expect(run(["{\"a\": ", "1"])).toEqual({ out: "{\"a\": 1", done: false });
  });
  it("emits nothing until a brace appears", () => {
    expect(run(["no json here"])).toEqual({ out: "", done: false });
  });
});
