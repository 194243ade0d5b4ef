// Test harness: a real Glimpse server (packages/server CLI on the embedded
// model, or GLIMPSE_MODEL_DIR) on 127.0.0.1 with a free port, and the language
// server (dist/server.cjs) driven over stdio by a real JSON-RPC client.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CancellationTokenSource,
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from "vscode-jsonrpc/node";
import type { StatusParams } from "../src/shared/protocol.js";

const here = dirname(fileURLToPath(import.meta.url));
export const packageDir = resolve(here, "..");
export const repoRoot = resolve(packageDir, "..", "..");
export const serverCli = join(repoRoot, "packages", "server", "bin", "glimpse.js");
export const lspBundle = join(packageDir, "dist", "server.cjs");

/** The embedded model, unless GLIMPSE_MODEL_DIR names another (e.g. the smoke model during development). */
export function modelDir(): string {
  const dir = process.env.GLIMPSE_MODEL_DIR ?? join(repoRoot, "models", "glimpse-coder-tiny");
  if (!existsSync(join(dir, "config.json"))) {
    throw new Error(`no model at ${dir}: the embedded model models/glimpse-coder-tiny is missing (or set GLIMPSE_MODEL_DIR)`);
  }
  return dir;
}

export interface GlimpseServer {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `glimpse serve` on a free port and resolves once it listens. */
export function startGlimpseServer(extraArgs: string[] = []): Promise<GlimpseServer> {
  if (!existsSync(join(repoRoot, "packages", "server", "dist", "cli.js"))) {
    throw new Error("packages/server is not built: npm run build -w @glimpse/server");
  }
  const args = [serverCli, "serve", "--model", modelDir(), "--host", "127.0.0.1", "--port", "0", "--log-level", "warn",
    "--speculative-config", '{"method": "suffix"}', "--threads", "1", ...extraArgs];
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`glimpse serve did not start: ${err}`)), 60_000);
    proc.stderr!.on("data", (b: Buffer) => {
      err += b.toString();
      const m = /serving '[^']*' at (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolvePromise({
          url: m[1],
          proc,
          stop: () =>
            new Promise<void>((done) => {
              if (proc.exitCode !== null) return done();
              proc.once("exit", () => done());
              proc.kill("SIGTERM");
              setTimeout(() => proc.kill("SIGKILL"), 5000).unref();
            }),
        });
      }
    });
    proc.stdout!.resume();
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`glimpse serve exited (${code}): ${err}`));
    });
  });
}

export interface LspSession {
  conn: MessageConnection;
  proc: ChildProcess;
  statuses: StatusParams[];
  logs: { type: number; message: string }[];
  /** Documents opened, by URI, with their current text and version. */
  docs: Map<string, { text: string; version: number; languageId: string }>;
  open(uri: string, languageId: string, text: string): Promise<void>;
  /** Replaces the whole text (one full-content change event). */
  setText(uri: string, text: string): Promise<void>;
  /** Inserts text at an offset (one incremental change). */
  insert(uri: string, offset: number, text: string): Promise<void>;
  inline(uri: string, offset: number, cts?: CancellationTokenSource): Promise<{ items: { insertText: string; command?: { command: string; arguments?: unknown[] } }[] } | null>;
  stats(): Promise<{ state: string; stats: import("../src/shared/protocol.js").CompletionStats }>;
  close(): Promise<void>;
}

export function positionAt(text: string, offset: number): { line: number; character: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length - 1;
  return { line, character: offset - (before.lastIndexOf("\n") + 1) };
}

/** Starts the language server over stdio and initializes it with these settings. */
export async function startLsp(initializationOptions: Record<string, unknown>): Promise<LspSession> {
  const proc = spawn(process.execPath, [lspBundle, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
  proc.stderr!.resume();
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  const statuses: StatusParams[] = [];
  const logs: { type: number; message: string }[] = [];
  conn.onNotification("glimpse/status", (p: StatusParams) => void statuses.push(p));
  conn.onNotification("window/logMessage", (p: { type: number; message: string }) => void logs.push(p));
  conn.listen();
  const init = (await conn.sendRequest("initialize", {
    processId: process.pid,
    rootUri: null,
    capabilities: { textDocument: { inlineCompletion: { dynamicRegistration: false } } },
    initializationOptions,
  })) as { capabilities: Record<string, unknown> };
  if (!init.capabilities.inlineCompletionProvider) throw new Error("server does not offer inline completion");
  await conn.sendNotification("initialized", {});
  const docs = new Map<string, { text: string; version: number; languageId: string }>();
  const s: LspSession = {
    conn,
    proc,
    statuses,
    logs,
    docs,
    async open(uri, languageId, text) {
      docs.set(uri, { text, version: 1, languageId });
      await conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId, version: 1, text } });
    },
    async setText(uri, text) {
      const d = docs.get(uri)!;
      d.text = text;
      d.version++;
      await conn.sendNotification("textDocument/didChange", { textDocument: { uri, version: d.version }, contentChanges: [{ text }] });
    },
    async insert(uri, offset, text) {
      const d = docs.get(uri)!;
      const pos = positionAt(d.text, offset);
      d.text = d.text.slice(0, offset) + text + d.text.slice(offset);
      d.version++;
      await conn.sendNotification("textDocument/didChange", {
        textDocument: { uri, version: d.version },
        contentChanges: [{ range: { start: pos, end: pos }, text }],
      });
    },
    inline(uri, offset, cts) {
      const d = docs.get(uri)!;
      return conn.sendRequest(
        "textDocument/inlineCompletion",
        { textDocument: { uri }, position: positionAt(d.text, offset), context: { triggerKind: 2 } },
        (cts ?? new CancellationTokenSource()).token,
      );
    },
    stats: () => conn.sendRequest("glimpse/stats"),
    async close() {
      try {
        await conn.sendRequest("shutdown");
        await conn.sendNotification("exit");
      } catch {
        // already gone
      }
      conn.dispose();
      if (proc.exitCode === null) {
        await new Promise<void>((done) => {
          proc.once("exit", () => done());
          setTimeout(() => {
            proc.kill("SIGKILL");
          }, 3000).unref();
        });
      }
    },
  };
  return s;
}

/** The same request the language server makes, straight to the Glimpse server. */
export async function rawCompletion(url: string, body: Record<string, unknown>): Promise<{ text: string; json: Record<string, unknown> }> {
  const r = await fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ temperature: 0, ...body }) });
  const json = (await r.json()) as { choices: { text: string }[] };
  return { text: json.choices[0].text, json };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export { CancellationTokenSource };
