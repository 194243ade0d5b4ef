// Structured outputs through a RemoteEngine: XGrammar loads and compiles in
// the engine's worker thread, prepareConstraint's errors cross the thread as
// data (a GlimpseConfigError with its field and XGrammar's message), and the
// tokens are those of an Engine in this thread. Imported from dist/: the
// worker runs the built JavaScript.
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, GlimpseConfigError, RemoteEngine, type OutputConstraint } from "../dist/index.js";
import { PROMPTS, SCHEMAS } from "./grammar-fixtures.js";
import { MODEL_DIR } from "./model-dir.js";

let remote: RemoteEngine;
let local: Engine;
beforeAll(async () => {
  [remote, local] = await Promise.all([
    RemoteEngine.load(MODEL_DIR, { speculativeConfig: { method: "suffix" } }),
    Engine.load(MODEL_DIR, { speculativeConfig: { method: "suffix" } }),
  ]);
}, 120_000);
afterAll(async () => Promise.all([remote?.close(), local?.close()]));

describe("RemoteEngine with output constraints", () => {
  it("prepares constraints in the worker; bad ones reject with the field and XGrammar's message", async () => {
    await remote.prepareConstraint({ type: "json_schema", schema: SCHEMAS.person });
    const cases: [OutputConstraint, string, RegExp][] = [
      [{ type: "json_schema", schema: { type: "object", properties: { a: { type: "strin" } } } }, "constraint.schema", /not accepted by XGrammar: Unsupported type "strin"/],
      [{ type: "regex", pattern: "(a|b" }, "constraint.pattern", /Regex parsing error/],
      [{ type: "grammar", grammar: 'root ::= "a" |' }, "constraint.grammar", /EBNF parser error/],
      [{ type: "json_prefix", before: "[1, 2]]" }, "constraint.before", /not the start of a JSON document/],
      [{ type: "json_schema", schema: { not: { type: "null" } } }, "constraint.schema", /keyword "not"/],
      [{ type: "csv" } as unknown as OutputConstraint, "constraint.type", /must be one of/],
    ];
    for (const [c, field, message] of cases) {
      const err = await remote.prepareConstraint(c).then(() => null, (e: unknown) => e);
      expect(err, JSON.stringify(c)).toBeInstanceOf(GlimpseConfigError);
      expect((err as GlimpseConfigError).field).toBe(field);
      expect((err as GlimpseConfigError).reason).toMatch(message);
    }
  });

  it("generates the tokens an Engine in this thread generates, streamed in order, valid for the schema", async () => {
    const ajv = new Ajv();
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      const o = { prompt: PROMPTS[0], maxTokens: 100, constraint: { type: "json_schema" as const, schema } };
      const want = await local.generate(o);
      const s = remote.stream(o);
      const ids: number[] = [];
      for await (const c of s) ids.push(...c.tokenIds);
      const got = await s.result;
      expect(got.tokenIds, name).toEqual(want.tokenIds);
      expect(ids).toEqual(want.tokenIds);
      expect(got.finishReason).toBe("stop");
      expect(ajv.validate(schema, JSON.parse(got.text))).toBe(true);
    }
  });

  it("a constraint XGrammar refuses fails the stream with the same error; a bad shape throws at once", async () => {
    const s = remote.stream({ prompt: "x", maxTokens: 10, constraint: { type: "regex", pattern: "[z-a]" } });
    const err = await s.result.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(GlimpseConfigError);
    expect((err as GlimpseConfigError).field).toBe("constraint.pattern");
    expect(() => remote.stream({ prompt: "x", constraint: { type: "choice", choices: [1] } as unknown as OutputConstraint })).toThrow(/constraint\.choices\[0\]: must be a string/);
    expect(remote.activeRequestCount).toBe(0);
  });
});
