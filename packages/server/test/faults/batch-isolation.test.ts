// Finding 6 of issue 15, one bad request fails its whole batch: a forward pass
// that throws because of one row used to fail every request of the step
// (500 for all). Now the pass is retried row by row: the row that fails alone
// fails, the others answer 200 with the text they decode alone. The trigger:
// the graph refuses positions past a limit (as a graph does past its longest
// sequence), which only the long request's row crosses.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { post, startServer, SUFFIX, type TestServer } from "../helpers.js";

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ speculativeConfig: SUFFIX });
}, 120_000);
afterAll(() => srv?.close());

const GOOD = ["function add(a, b) {\n", "const items = [1, 2, 3];\n", "class Point {\n"];
const body = (prompt: string) => ({ prompt, max_tokens: 32, temperature: 0, ignore_eos: true });

it("a request whose row fails alone gets its error; the others of its batch answer as they do alone", { timeout: 120_000 }, async () => {
  const alone = [];
  for (const prompt of GOOD) alone.push((await post(`${srv.url}/v1/completions`, body(prompt))).json.choices[0].text);
  const tok = srv.engine.tokenizer;
  const longPrompt = tok.decode(Array.from({ length: 150 }, (_, i) => 300 + (i % 50)), false);
  const limit = BigInt(tok.encode(longPrompt).length + 4); // its prompt fits; its decoding crosses the limit
  const forward = (srv.engine as any).forward;
  const run = forward.run.bind(forward);
  const spy = vi.spyOn(forward, "run").mockImplementation(async (inputs: any, cache: any) => {
    if ((inputs.positions as BigInt64Array).some((p) => p >= limit)) throw new Error("position out of range");
    return run(inputs, cache);
  });
  try {
    const [bad, ...good] = await Promise.all([longPrompt, ...GOOD].map((p) => post(`${srv.url}/v1/completions`, body(p))));
    expect(bad.status).toBe(500);
    expect(good.map((g) => g.status)).toEqual([200, 200, 200]);
    expect(good.map((g) => g.json.choices[0].text)).toEqual(alone);
    expect(srv.engine.faults.isolatedSteps).toBeGreaterThan(0);
  } finally {
    spy.mockRestore();
  }
});
