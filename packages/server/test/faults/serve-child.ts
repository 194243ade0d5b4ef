// `glimpse serve` as a child process, as a supervisor would run it (needs
// `npm run build`): its URL from the "listening" log line, its output, its
// exit. Every test stops what it starts (by pid).

import { spawn, type ChildProcess } from "node:child_process";
import { MODEL_DIR } from "../helpers.js";

export const BIN = new URL("../../bin/glimpse.js", import.meta.url).pathname;

export interface ServeChild {
  proc: ChildProcess;
  /** Resolves with the base URL once listening; rejects if the process exits first. */
  url: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** SIGKILL if still running; waits for the exit. */
  stop(): Promise<void>;
}

export function startServe(args: string[], env: Record<string, string> = {}): ServeChild {
  const proc = spawn(process.execPath, [BIN, "serve", "--model", MODEL_DIR, "--threads", "1", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let resolveUrl!: (u: string) => void;
  let rejectUrl!: (e: Error) => void;
  const url = new Promise<string>((res, rej) => ((resolveUrl = res), (rejectUrl = rej)));
  url.catch(() => {});
  const onData = (d: Buffer) => {
    out += d.toString();
    const m = /"url":"(http:[^"]+)"[^\n]*"msg":"listening"/.exec(out);
    if (m) resolveUrl(m[1]);
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.once("exit", (code, signal) => res({ code, signal })));
  void exited.then(({ code, signal }) => rejectUrl(new Error(`glimpse serve exited (${code ?? signal}) before listening:\n${out}`)));
  return {
    proc, url, exited,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    },
  };
}

export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Text that tokenizes to many distinct tokens (so a suffix tree grows fast). */
export function noisyText(bytes: number, seed: number): string {
  const words = ["function", "const", "return", "if", "else", "let", "x", "y", "=", "(", ")", "{", "}", "\n", "value", "index"];
  let k = seed;
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    k = (k * 1103515245 + 12345) % 2147483648;
    const w = `${words[k % words.length]} ${k % 997} `;
    parts.push(w);
    n += w.length;
  }
  return parts.join("");
}
