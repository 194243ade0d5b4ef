// Suffix documents are tokenized on a thread of their own at the lowest CPU priority (tokenize/pool.ts), so a
// large upload runs on what decoding and prompts leave. Threads' nice values are read from /proc (Linux).
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { TextTokenizer } from "@glimpse/runtime-cuda";
import { TokenizerPool } from "../src/tokenize/pool.js";
import { MODEL_DIR } from "./helpers.js";

/** Nice value of each thread of this process (field 19 of /proc/self/task/TID/stat, counted after the command name). */
function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.set(Number(tid), Number(fields[16]));
  }
  return out;
}

describe.runIf(process.platform === "linux")("tokenizer threads' priorities", () => {
  const pool = new TokenizerPool(MODEL_DIR, 2);
  afterAll(() => pool.close());

  it("documents run on one thread at nice 19; prompts and the HTTP thread keep normal priority", async () => {
    const mainNice = threadNices().get(process.pid);
    const before = new Set([...threadNices()].filter(([, nice]) => nice === 19).map(([tid]) => tid));
    const text = "export function add(a: number, b: number) {\n  return a + b;\n}\n".repeat(200);
    const ids = await pool.run({ kind: "document", text, maxTokens: 1 << 20, share: 1 });
    const prompts = await pool.run({ kind: "completion", prompt: "def main():", suffix: undefined });
    expect(Array.from(ids)).toEqual(TextTokenizer.fromDir(MODEL_DIR).encode(text));
    expect(prompts).toHaveLength(1);
    const nices = threadNices();
    const low = [...nices].filter(([tid, nice]) => nice === 19 && !before.has(tid));
    expect(low).toHaveLength(1);
    expect(nices.get(process.pid)).toBe(mainNice);
    // The pool's other threads (2 prompt threads, spawned by this test) are not lowered.
    expect([...nices.values()].filter((n) => n === 19)).toHaveLength(before.size + 1);
  });
});
