// `glimpse serve --model X.gguf` and `glimpse generate --model X.gguf` as users run them (needs `npm run build`
// and the optional node-llama-cpp): real child processes on 127.0.0.1, a GGUF of the embedded model written by
// `glimpse convert --to gguf`, and the same server on the embedded ONNX folder as the reference for greedy text.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODEL_DIR } from "./helpers.js";

const BIN = new URL("../bin/glimpse.js", import.meta.url).pathname;
const run = promisify(execFile);
const SUFFIX = "{\"method\": \"suffix\"}";
const work = mkdtempSync(join(tmpdir(), "glimpse-llama-serve-"));
const GGUF = join(work, "tiny-coder.gguf");
// description folders go to a cache of this test's own
const env = { ...process.env, GLIMPSE_CACHE_DIR: join(work, "cache") };

interface Served {
  proc: ChildProcess;
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** `glimpse serve` on any free port; resolves once its "listening" log line names the URL. */
function serve(args: string[]): Promise<Served> {
  const proc = spawn(process.execPath, [BIN, "serve", "--port", "0", "--threads", "1", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const exited = new Promise<void>((res) => proc.once("exit", () => res()));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:[^"]+)"[^\n]*"msg":"listening"/.exec(out);
      if (m) resolve({ proc, url: m[1], output: () => out, stop: async () => { if (proc.exitCode === null) proc.kill("SIGKILL"); await exited; } });
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    void exited.then(() => reject(new Error(`glimpse serve exited before listening:\n${out}`)));
  });
}

async function post(url: string, body: unknown): Promise<any> {
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/** A streamed response's text deltas, joined, and whether it ended with [DONE]. */
async function streamed(url: string, body: unknown, pick: (chunk: any) => string | undefined): Promise<{ text: string; done: boolean }> {
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ...(body as object), stream: true }) });
  expect(res.status).toBe(200);
  const events = (await res.text()).split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
  return { text: events.filter((e) => e !== "[DONE]").map((e) => pick(JSON.parse(e)) ?? "").join(""), done: events.at(-1) === "[DONE]" };
}

const PROMPTS = ["function fibonacci(n) {", "def quicksort(xs):\n", "const user = {\n  id: 1,\n  name: \"", "SELECT name FROM", "import os\nimport sys\n\n"];

let gguf: Served;
let onnx: Served;

beforeAll(async () => {
  const conv = await run(process.execPath, [BIN, "convert", "--from", MODEL_DIR, "--to", "gguf", "--out", GGUF, "--dtype", "f32"], { env });
  expect(conv.stdout).toContain("\"ok\": true");
  [gguf, onnx] = await Promise.all([
    serve(["--model", GGUF, "--gpu-layers", "0", "--speculative-config", SUFFIX]),
    serve(["--model", MODEL_DIR, "--speculative-config", SUFFIX]),
  ]);
});

afterAll(async () => {
  await Promise.all([gguf?.stop(), onnx?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

describe("glimpse serve --model FILE.gguf", () => {
  it("says which backend runs, in the startup log, /health and /v1/models", async () => {
    expect(gguf.output()).toMatch(/"backend":"llama\.cpp"[^\n]*"msg":"engine loaded"/);
    expect(onnx.output()).toMatch(/"backend":"onnxruntime"[^\n]*"msg":"engine loaded"/);
    const health: any = await (await fetch(`${gguf.url}/health`)).json();
    expect(health).toMatchObject({ status: "ok", model: "tiny-coder", backend: "llama.cpp", provider: "cpu", speculative: "suffix" });
    expect(((await (await fetch(`${onnx.url}/health`)).json()) as any).backend).toBe("onnxruntime");
    const models: any = await (await fetch(`${gguf.url}/v1/models`)).json();
    expect(models.data[0]).toMatchObject({ id: "tiny-coder", root: GGUF, backend: "llama.cpp", max_model_len: 2048 });
  });

  it("/v1/completions: greedy text equals the ONNX folder's, batched requests too", async () => {
    const body = (prompt: string) => ({ prompt, max_tokens: 24, temperature: 0 });
    const [mine, theirs] = await Promise.all([gguf, onnx].map((s) => Promise.all(PROMPTS.map((p) => post(`${s.url}/v1/completions`, body(p))))));
    for (let i = 0; i < PROMPTS.length; i++) {
      expect(mine[i].model).toBe("tiny-coder");
      expect(mine[i].choices[0].text, PROMPTS[i]).toBe(theirs[i].choices[0].text);
      expect(mine[i].usage).toEqual(theirs[i].usage);
    }
    expect(mine.some((r) => r.choices[0].text.length > 0)).toBe(true);
  });

  it("/v1/chat/completions: greedy reply equals the ONNX folder's (the folder's chat template)", async () => {
    const body = { messages: [{ role: "user", content: "Write a function that adds two numbers." }], max_tokens: 24, temperature: 0 };
    const [mine, theirs] = await Promise.all([gguf, onnx].map((s) => post(`${s.url}/v1/chat/completions`, body)));
    expect(mine.choices[0].message.content).toBe(theirs.choices[0].message.content);
    expect(mine.usage).toEqual(theirs.usage);
  });

  it("streams completions and chat replies: the deltas add up to the same text", async () => {
    const prompt = { prompt: PROMPTS[0], max_tokens: 24, temperature: 0 };
    const whole = await post(`${onnx.url}/v1/completions`, prompt);
    const s = await streamed(`${gguf.url}/v1/completions`, prompt, (c) => c.choices?.[0]?.text);
    expect(s).toEqual({ text: whole.choices[0].text, done: true });

    const chat = { messages: [{ role: "user", content: "hello" }], max_tokens: 16, temperature: 0 };
    const reply = await post(`${onnx.url}/v1/chat/completions`, chat);
    const c = await streamed(`${gguf.url}/v1/chat/completions`, chat, (x) => x.choices?.[0]?.delta?.content);
    expect(c).toEqual({ text: reply.choices[0].message.content, done: true });
  });
});

describe("glimpse generate --model FILE.gguf", () => {
  it("--json prints one JSON object, with the ONNX folder's greedy tokens", async () => {
    const args = (model: string) => [BIN, "generate", "--json", "--model", model, "--max-tokens", "16", "--ignore-eos", PROMPTS[1]];
    const [mine, theirs] = await Promise.all([run(process.execPath, args(GGUF), { env }), run(process.execPath, args(MODEL_DIR), { env })]);
    expect(mine.stdout.trim().split("\n")).toHaveLength(1);
    const out = JSON.parse(mine.stdout);
    const ref = JSON.parse(theirs.stdout);
    expect(out).toMatchObject({ backend: "llama.cpp", finish_reason: "length", completion_tokens: 16 });
    expect(ref.backend).toBe("onnxruntime");
    expect(out.prompt_token_ids).toEqual(ref.prompt_token_ids);
    expect(out.token_ids).toEqual(ref.token_ids);
    expect(out.text).toBe(ref.text);
  });

  it("bench replay --model FILE.gguf: checks the trace against the GGUF's vocabulary, replays it", async () => {
    const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    const trace = join(work, "trace.jsonl");
    writeFileSync(trace, JSON.stringify({ prompt_ids: ids(300, 30), response_ids: ids(300, 30) }) + "\n");
    const { stdout } = await run(process.execPath, [BIN, "bench", "replay", "--model", GGUF, "--gpu-layers", "0", "--trace", trace, "--json"], { env });
    const [t] = JSON.parse(stdout).traces;
    expect(t).toMatchObject({ rows: 1, tokens: 30, mismatched_rows: 0 });
    writeFileSync(trace, JSON.stringify({ prompt_ids: [1, 2], response_ids: [5000] }) + "\n");
    const err = await run(process.execPath, [BIN, "bench", "replay", "--model", GGUF, "--trace", trace], { env }).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toContain("token id 5000, outside this model's vocabulary of 4096 tokens");
  });

  it("--backend and --gpu-layers: a mismatch is one line naming the flag", async () => {
    const onnxOnGguf = await run(process.execPath, [BIN, "generate", "--model", GGUF, "--backend", "onnxruntime", "x"], { env }).catch((e) => e);
    expect(onnxOnGguf.code).toBe(1);
    expect(onnxOnGguf.stderr.trim()).toMatch(/^glimpse: --backend: .*GGUF file.*"llama\.cpp" or "auto"$/);
    const layersOnFolder = await run(process.execPath, [BIN, "generate", "--model", MODEL_DIR, "--gpu-layers", "4", "x"], { env }).catch((e) => e);
    expect(layersOnFolder.code).toBe(1);
    expect(layersOnFolder.stderr.trim()).toMatch(/^glimpse: --gpu-layers: .*llama\.cpp/);
    const bad = await run(process.execPath, [BIN, "generate", "--model", GGUF, "--gpu-layers", "lots", "x"], { env }).catch((e) => e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--gpu-layers");
    expect(bad.stderr).toContain("'auto' or 'max'");
  });

  it("without node-llama-cpp: one line naming npm run setup:llama", async () => {
    // A module hook that makes node-llama-cpp unresolvable, as on an install without `npm run setup:llama`
    const hook = join(work, "no-node-llama-cpp.mjs");
    const resolver = "export async function resolve(s, c, next) { if (s === 'node-llama-cpp') { const e = new Error('Cannot find package'); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return next(s, c); }";
    writeFileSync(hook, `import { register } from "node:module";\nregister("data:text/javascript," + encodeURIComponent(${JSON.stringify(resolver)}));\n`);
    const fresh = { ...env, GLIMPSE_CACHE_DIR: join(work, "cache-none") };
    for (const cmd of [["generate", "x"], ["serve", "--port", "0"]]) {
      const err = await run(process.execPath, ["--import", hook, BIN, cmd[0], "--model", GGUF, ...cmd.slice(1)], { env: fresh }).catch((e) => e);
      expect(err.code, cmd[0]).toBe(1);
      const lines = err.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("npm run setup:llama");
      expect(lines[0]).toContain(GGUF);
    }
  });
});
