// Prompts admitted together are prefilled in one pass (rows padded), and a
// large graph's verify-cost curve is measured in the background while idle,
// then cached. On the embedded model.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../src/engine.js";
import { ForwardPass } from "../src/model/forward.js";
import { passLengths, prefillRows } from "../src/model/prefill.js";
import { detectLayout } from "../src/model/layout.js";
import { readModelConfig } from "../src/model/model-config.js";
import { chooseProvider, createSession } from "../src/model/session.js";
import { BACKGROUND_MACS, initialVerifyCost } from "../src/verify/verify-cost-load.js";
import { readCostCache, costKey } from "../src/verify/verify-cost-cache.js";
import { MODEL_DIR } from "./model-dir.js";

const PROMPTS = [
  "function add(a, b) {",
  "export interface User {\n  id: string;\n  name: string;\n}\n\nexport function getName(user) {\n  return",
  "[\n  {\"id\": 1, \"name\": \"order\"},\n  {\"id\": 2, \"",
  "const x = ",
  "import { readFileSync } from \"node:fs\";\nconst text = readFileSync(",
  "// Sum of the squares of an array\nfunction sumSquares(xs) {\n",
  "SELECT name, total FROM orders WHERE",
  "class Stack {\n  constructor() {\n    this.items = [];\n  }\n  push(x) {",
];

type Run = { rows: number; width: number };

/** Records each forward pass's rows and width. */
function spy(engine: Engine): Run[] {
  const runs: Run[] = [];
  const forward = (engine as unknown as { forward: ForwardPass }).forward;
  const run = forward.run.bind(forward);
  forward.run = (inputs, cache, keep) => {
    runs.push({ rows: inputs.rows, width: inputs.width });
    return run(inputs, cache, keep);
  };
  return runs;
}

describe("batched prefill", () => {
  for (const graph of ["onnx/model_tree.onnx", "onnx/model.onnx"]) {
    it(`gives the greedy tokens of one-at-a-time prefill (${graph})`, async () => {
      const engine = await Engine.load(MODEL_DIR, { graph, maxBatchSize: 8, intraOpThreads: 1 });
      const runs = spy(engine);
      const alone: number[][] = [];
      for (const prompt of PROMPTS) alone.push((await engine.generate({ prompt, maxTokens: 16, temperature: 0 })).tokenIds);
      const prefillsAlone = runs.filter((r) => r.width > 1).length;
      runs.length = 0;
      const together = await Promise.all(PROMPTS.map((prompt) => engine.generate({ prompt, maxTokens: 16, temperature: 0 })));
      const prefillsTogether = runs.filter((r) => r.width > 1);
      await engine.close();
      expect(together.map((r) => r.tokenIds)).toEqual(alone);
      expect(prefillsAlone).toBe(PROMPTS.length);
      // The premise: several prompts did share a pass.
      expect(prefillsTogether.length).toBeLessThan(PROMPTS.length);
      expect(Math.max(...prefillsTogether.map((r) => r.rows))).toBeGreaterThan(1);
    }, 60_000);
  }
});

describe("verify cost of a large graph", () => {
  let cacheDir: string;
  let forward: ForwardPass;
  let bigFile: string;
  beforeAll(async () => {
    cacheDir = mkdtempSync(join(tmpdir(), "glimpse-cost-"));
    process.env.GLIMPSE_CACHE_DIR = cacheDir;
    const config = readModelConfig(MODEL_DIR);
    const file = join(MODEL_DIR, "onnx/model_tree.onnx");
    const session = await createSession(file, chooseProvider("cpu"), { intraOpThreads: 1 });
    forward = new ForwardPass(session, detectLayout(session, config, file));
    // The cache key names a graph file; the tiny model stands for a large one (macs below).
    bigFile = join(cacheDir, "big.onnx");
    writeFileSync(bigFile, "x");
  });
  afterAll(async () => {
    delete process.env.GLIMPSE_CACHE_DIR;
    await forward.release();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  const setup = (idle: () => boolean, applied: string[]) => ({
    forward, file: bigFile, macs: BACKGROUND_MACS, threads: 1, provider: "cpu", vocabSize: 4096, maxModelLen: 2048, maxBatch: 2, idle,
    apply: (_: unknown, plainMs?: number) => applied.push(plainMs === undefined ? "prior" : "timed"),
  });

  it("starts from the prior, measures only while idle, caches the curve; the next load reads it", async () => {
    let idle = false;
    const applied: string[] = [];
    const t0 = performance.now();
    const first = await initialVerifyCost(setup(() => idle, applied));
    expect(performance.now() - t0).toBeLessThan(200); // nothing measured at load
    expect(first.source).toBe("prior");
    await new Promise((res) => setTimeout(res, 300));
    expect(readCostCache(costKey(bigFile, 1, 2, "cpu"))).toBeNull(); // busy: nothing ran
    idle = true;
    const measured = await first.background;
    expect(measured).not.toBeNull();
    expect(applied).toEqual(["prior", "timed"]);
    const cached = readCostCache(costKey(bigFile, 1, 2, "cpu"));
    expect(cached?.oneMs).toHaveLength(17);
    expect(cached?.batchKs).toEqual([0, 1, 2, 4, 8, 16]);
    const again = await initialVerifyCost(setup(() => true, []));
    expect(again.source).toBe("cache");
    expect(again.cost.single.relative).toEqual(measured!.single.relative);
  }, 120_000);

  it("stops a background measurement when asked (the engine closes)", async () => {
    process.env.GLIMPSE_CACHE_DIR = join(cacheDir, "empty"); // a cache without the curve
    const init = await initialVerifyCost(setup(() => false, []));
    expect(init.source).toBe("prior");
    await init.stop();
    expect(await init.background).toBeNull();
  });
});

describe("chunked prefill", () => {
  it("shortens passes as the context grows, in multiples of an eighth of the longest", () => {
    expect(passLengths(512, 512)).toEqual([512]);
    expect(passLengths(700, 512)).toEqual([512, 188]);
    // 512 x 512, 256 x 768, 256 x 1024, 192 x 1216, 128 x 1344 ... 128 x 1984, 64 x 2048: all within 512 x 512 = 262,144.
    expect(passLengths(2048, 512)).toEqual([512, 256, 256, 192, 128, 128, 128, 128, 128, 128, 64]);
    // Past 4096 tokens of context a pass would be under 64: 64 it stays.
    expect(passLengths(8192, 512).slice(-3)).toEqual([64, 64, 64]);
  });
  for (const graph of ["onnx/model_tree.onnx", "onnx/model.onnx"]) {
    it(`a long prompt in passes of a few tokens gives one pass's last logits and cache (${graph})`, async () => {
      const config = readModelConfig(MODEL_DIR);
      const file = join(MODEL_DIR, graph);
      const session = await createSession(file, chooseProvider("cpu"), { intraOpThreads: 1 });
      const forward = new ForwardPass(session, detectLayout(session, config, file));
      const runs: number[] = [];
      const run = forward.run.bind(forward);
      forward.run = (inputs, cache, keep) => {
        runs.push(inputs.width);
        return run(inputs, cache, keep);
      };
      const prompt = Array.from({ length: 45 }, (_, i) => 40 + ((i * 37) % 900));
      const whole = await prefillRows(forward, [prompt], config.padTokenId, config.hiddenSize, 1000);
      expect(runs).toEqual([45]);
      runs.length = 0;
      const chunked = await prefillRows(forward, [prompt], config.padTokenId, config.hiddenSize, 8);
      await session.release();
      // Each pass as long as its length times the context it ends at stays within 8 x 8: 8 x 8, 4 x 12, 4 x 16, 3 x 19, 2 x 21 ... 2 x 31, then single tokens.
      expect(runs).toEqual([8, 4, 4, 3, 2, 2, 2, 2, 2, 2, ...Array(14).fill(1)]);
      const V = config.vocabSize;
      const a = whole.logits.subarray(whole.rows[0].logitsAt, whole.rows[0].logitsAt + V);
      const b = chunked.logits.subarray(chunked.rows[0].logitsAt, chunked.rows[0].logitsAt + V);
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-3);
      expect(b.indexOf(Math.max(...b))).toBe(a.indexOf(Math.max(...a)));
      const [ca, cb] = [whole.rows[0].cache, chunked.rows[0].cache];
      expect(cb.width).toBe(45);
      for (let l = 0; l < config.numLayers; l++) {
        expect(maxAbsDiff(ca.keys[l] as Float32Array, cb.keys[l] as Float32Array)).toBeLessThan(1e-3);
        expect(maxAbsDiff(ca.values[l] as Float32Array, cb.values[l] as Float32Array)).toBeLessThan(1e-3);
      }
    }, 60_000);
  }
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe("weights kept as stored (prepackWeights: false)", () => {
  it("decodes the tokens of a session that repacks them", async () => {
    const run = async (prepackWeights: boolean) => {
      const engine = await Engine.load(MODEL_DIR, { prepackWeights, intraOpThreads: 1 });
      const r = await engine.generate({ prompt: PROMPTS[1], maxTokens: 24, temperature: 0, ignoreEos: true });
      await engine.close();
      return r.tokenIds;
    };
    const packed = await run(true);
    expect(packed).toHaveLength(24);
    expect(await run(false)).toEqual(packed);
  }, 60_000);
});
