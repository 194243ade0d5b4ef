// The glimpse CLI as users run it (needs `npm run build` first, as `npm test` does through turbo).

import { spawn, execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { MODEL_DIR } from "./helpers.js";

const BIN = new URL("../bin/glimpse.js", import.meta.url).pathname;
const run = promisify(execFile);

describe("glimpse CLI", () => {
  it("generate streams text and prints acceptance stats", async () => {
    const { stdout, stderr } = await run("node", [BIN, "generate", "--model", MODEL_DIR, "--speculative-config", "{\"method\": \"suffix\"}", "--max-tokens", "12", "a = 1\na = 1\na = 1\n"]);
    expect(stdout.length).toBeGreaterThan(0);
    expect(stderr).toMatch(/tokens \((stop|length)\) in \d+ ms: [\d.]+ tokens\/s/);
    expect(stderr).toMatch(/speculation: suffix; drafts \d+, draft tokens \d+, accepted \d+/);
    // vLLM's mean acceptance length: 1 + accepted / drafts (1 without drafts).
    const [, drafts, accepted, mal] = /drafts (\d+), draft tokens \d+, accepted (\d+) \([\d.]+%\), mean acceptance length ([\d.]+),/.exec(stderr) ?? [];
    expect(mal).toBe((Number(drafts) > 0 ? 1 + Number(accepted) / Number(drafts) : 1).toFixed(2));
  });

  it("rejects an unknown speculative-config key by name", async () => {
    const err = await run("node", [BIN, "generate", "--model", MODEL_DIR, "--speculative-config", "{\"method\": \"suffix\", \"bogus_key\": 1}", "x"]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toContain("--speculative-config");
    expect(err.stderr).toContain("bogus_key");
  });

  it("--graph picks the model folder's Hugging Face graph, and a missing one is named", async () => {
    const { stdout } = await run("node", [BIN, "generate", "--model", MODEL_DIR, "--graph", "onnx/model.onnx", "--max-tokens", "8", "function add(a, b) {"]);
    expect(stdout.length).toBeGreaterThan(0);
    const err = await run("node", [BIN, "generate", "--model", MODEL_DIR, "--graph", "onnx/nope.onnx", "x"]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toContain("onnx/nope.onnx");
  });

  it("serve: listens, prints a curl example, stops cleanly on SIGTERM", async () => {
    const child = spawn("node", [BIN, "serve", "--model", MODEL_DIR, "--port", "0", "--speculative-config", "{\"suffix_decoding_max_tree_depth\": 32, \"method\": \"suffix\"}"]);
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        stdout += d;
        const m = /"url":"([^"]+)"/.exec(stdout);
        if (m) resolve(m[1]);
      });
      child.once("exit", () => reject(new Error(`serve exited: ${stderr}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const models: any = await (await fetch(`${url}/v1/models`)).json();
    expect(models.data[0].speculative_config.suffixMaxDepth).toBe(32);
    expect(stderr).toContain(`curl ${url}/v1/completions`);
    const exit = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
    expect(stdout).toContain("\"msg\":\"stopped\"");
  });
});
