// Reading forced tool calls out of generated text, whole and piece by piece
// (pure: text in, calls out). The expected calls are written by hand.

import { describe, expect, it } from "vitest";
import { ToolCallReader, type ToolCallDelta } from "../src/structured/tool-calls.js";

const required = { kind: "required" } as const;

/** The calls without their random ids. */
const plain = (calls: { function: { name: string; arguments: string } }[]) => calls.map((c) => c.function);

/** Feeds `text` in pieces of `size` characters; joins the deltas as a client does. */
function streamed(text: string, size: number, mode: { kind: "required" } | { kind: "named"; name: string } = required) {
  const r = new ToolCallReader(mode);
  const deltas: ToolCallDelta[] = [...r.opening()];
  for (let i = 0; i < text.length; i += size) deltas.push(...r.push(text.slice(i, i + size)));
  deltas.push(...r.finish());
  const calls: { id: string; name: string; arguments: string }[] = [];
  for (const d of deltas) {
    if ("id" in d) {
      expect(d.index).toBe(calls.length);
      expect(d.type).toBe("function");
      calls.push({ id: d.id, name: d.function.name, arguments: d.function.arguments });
    } else {
      calls[d.index].arguments += d.function.arguments;
    }
  }
  return { calls: calls.map(({ name, arguments: a }) => ({ name, arguments: a })), ids: calls.map((c) => c.id), result: r.result() };
}

const TWO_CALLS = '[{"name": "get_weather", "parameters": {"city": "Paris", "unit": "celsius"}}, {"name": "add", "parameters": {"a": 1, "b": [2, {"c": "}]\\"{"}]}}]';
const TWO_EXPECTED = [
  { name: "get_weather", arguments: '{"city": "Paris", "unit": "celsius"}' },
  { name: "add", arguments: '{"a": 1, "b": [2, {"c": "}]\\"{"}]}' },
];

describe("ToolCallReader, tool_choice required", () => {
  it("reads the calls of a whole output", () => {
    const calls = ToolCallReader.read(required, TWO_CALLS);
    expect(plain(calls)).toEqual(TWO_EXPECTED);
    for (const c of calls) {
      expect(c.type).toBe("function");
      expect(c.id).toMatch(/^call_[0-9a-f]{24}$/);
    }
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
  });

  it.each([1, 2, 3, 5, 7, 16, 1000])("gives the same calls however the text is split (pieces of %i)", (size) => {
    const s = streamed(TWO_CALLS, size);
    expect(s.calls).toEqual(TWO_EXPECTED);
    expect(plain(s.result)).toEqual(TWO_EXPECTED);
    expect(s.result.map((c) => c.id)).toEqual(s.ids);
  });

  it("announces a call as soon as its name is complete, before its arguments end", () => {
    const r = new ToolCallReader(required);
    expect(r.push('[{"name": "get_wea')).toEqual([]);
    const d = r.push('ther", "parameters": {"ci');
    expect(d).toEqual([
      { index: 0, id: expect.any(String), type: "function", function: { name: "get_weather", arguments: "" } },
      { index: 0, function: { arguments: '{"ci' } },
    ]);
    expect(r.push('ty": "Oslo"}}]')).toEqual([{ index: 0, function: { arguments: 'ty": "Oslo"}' } }]);
  });

  it("keeps whitespace inside the arguments, drops it around them", () => {
    const text = '[ {\n  "name" : "f" ,\n  "parameters" :\n  {\n    "x" : [ 1 , 2 ]\n  }\n  }\n]';
    expect(plain(ToolCallReader.read(required, text))).toEqual([{ name: "f", arguments: '{\n    "x" : [ 1 , 2 ]\n  }' }]);
    expect(streamed(text, 1).calls).toEqual([{ name: "f", arguments: '{\n    "x" : [ 1 , 2 ]\n  }' }]);
  });

  it("holds arguments written before the name until the name is known", () => {
    const text = '[{"parameters": {"q": "name"}, "name": "search"}]';
    expect(streamed(text, 1).calls).toEqual([{ name: "search", arguments: '{"q": "name"}' }]);
  });

  it("decodes escapes in names", () => {
    expect(plain(ToolCallReader.read(required, '[{"name": "a\\u005fb", "parameters": {}}]'))).toEqual([{ name: "a_b", arguments: "{}" }]);
  });

  it("reports what there is of an output cut short", () => {
    expect(plain(ToolCallReader.read(required, '[{"name": "f", "parameters": {"a": "unfini'))).toEqual([{ name: "f", arguments: '{"a": "unfini' }]);
    expect(plain(ToolCallReader.read(required, '[{"name": "f"'))).toEqual([{ name: "f", arguments: "" }]);
    expect(ToolCallReader.read(required, '[{"na')).toEqual([]);
  });
});

describe("ToolCallReader, a named function", () => {
  it("opens with the call and passes every piece on as arguments", () => {
    const s = streamed('{"city": "Rome"}', 3, { kind: "named", name: "get_weather" });
    expect(s.calls).toEqual([{ name: "get_weather", arguments: '{"city": "Rome"}' }]);
    expect(plain(ToolCallReader.read({ kind: "named", name: "get_weather" }, '{"city": "Rome"}'))).toEqual([{ name: "get_weather", arguments: '{"city": "Rome"}' }]);
  });
});
