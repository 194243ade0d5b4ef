// The engine in a worker thread (RemoteEngine) on a GGUF file, and llama.cpp
// held by one thread of the process at a time. node-llama-cpp's addon keeps
// one llama.cpp state per process and a worker's exit frees it: a worker and
// this thread decoding at once crashed the process now and then ("terminate
// called after throwing an instance of 'Napi::Error'"). This file's thread
// loads no GGUF file until the last test, so the worker can take llama.cpp.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, ModelLoadError, RemoteEngine } from "../../dist/index.js";
import { EMBEDDED_DIR, tinyGguf, type TinyGguf } from "./tiny-gguf.js";

const OPTIONS = { speculativeConfig: { method: "suffix" }, maxBatchSize: 4, intraOpThreads: 1 } as const;
const PROMPTS = ["function add(a, b) {", "SELECT name FROM users WHERE", "[1, 2, 3, 1, 2, 3, 1, 2,"];
const IN_USE = /llama\.cpp is in use by another thread of this process \(thread (\d+)\), which keeps it until it exits/;

let gguf: TinyGguf;
beforeAll(() => {
  gguf = tinyGguf();
}, 120_000);
afterAll(() => gguf?.remove());

async function loadError(load: Promise<{ close(): Promise<void> }>): Promise<Error> {
  const err = await load.then(async (e) => {
    await e.close();
    return null;
  }, (e: unknown) => e);
  if (!(err instanceof Error)) throw new Error("the load did not fail");
  return err;
}

describe("RemoteEngine on a .gguf file", () => {
  it("loads the llama.cpp backend in the worker and decodes what the onnxruntime backend decodes on the same fp32 weights", { timeout: 180_000 }, async () => {
    const [remote, onnx] = await Promise.all([RemoteEngine.load(gguf.file, OPTIONS), Engine.load(EMBEDDED_DIR, OPTIONS)]);
    expect(remote.provider.backend).toBe("llama.cpp");
    expect(onnx.backendName).toBe("onnxruntime");
    for (const prompt of PROMPTS) {
      const want = await onnx.generate({ prompt, maxTokens: 24, ignoreEos: true });
      const got = await remote.generate({ prompt, maxTokens: 24, ignoreEos: true });
      expect(got.tokenIds, prompt).toEqual(want.tokenIds);
      expect(got.text).toBe(want.text);
    }
    await Promise.all([remote.close(), onnx.close()]);
    await expect(RemoteEngine.load(join(gguf.work, "absent.gguf"))).rejects.toThrow(ModelLoadError);
  });

  it("a worker whose load failed after taking llama.cpp gives it back as it exits", { timeout: 180_000 }, async () => {
    const truncated = join(gguf.work, "truncated.gguf");
    const whole = readFileSync(gguf.file);
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    await expect(RemoteEngine.load(truncated, OPTIONS)).rejects.toThrow(/llama\.cpp cannot load/);
    const remote = await RemoteEngine.load(gguf.file, OPTIONS);
    expect((await remote.generate({ prompt: PROMPTS[0], maxTokens: 4, ignoreEos: true })).tokenIds).toHaveLength(4);
    await remote.close();
  });

  it("one thread holds llama.cpp at a time: others are refused with the holder's thread, until it exits", { timeout: 180_000 }, async () => {
    const remote = await RemoteEngine.load(gguf.file, OPTIONS);
    const fromHere = await loadError(Engine.load(gguf.file, OPTIONS));
    expect(fromHere).toBeInstanceOf(ModelLoadError);
    const holder = Number(IN_USE.exec(fromHere.message)?.[1]);
    expect(holder).toBeGreaterThan(0); // the worker, not this thread (0)
    expect(fromHere.message).toMatch(/in one RemoteEngine at a time, or in processes of their own/);
    const secondWorker = await loadError(RemoteEngine.load(gguf.file, OPTIONS));
    expect(secondWorker.message).toMatch(new RegExp(`in use by another thread of this process \\(thread ${holder}\\)`));
    // The ONNX backend is not concerned, in either thread.
    const onnx = await RemoteEngine.load(EMBEDDED_DIR, { intraOpThreads: 1 });
    await onnx.close();
    await remote.close();

    // The worker is gone: this thread takes llama.cpp, and keeps it.
    const here = await Engine.load(gguf.file, OPTIONS);
    expect(here.backendName).toBe("llama.cpp");
    expect((await here.generate({ prompt: PROMPTS[1], maxTokens: 4, ignoreEos: true })).tokenIds).toHaveLength(4);
    await here.close();
    const afterClose = await loadError(RemoteEngine.load(gguf.file, OPTIONS));
    expect(afterClose.message).toMatch(/in use by another thread of this process \(thread 0\)/);
  });
});
