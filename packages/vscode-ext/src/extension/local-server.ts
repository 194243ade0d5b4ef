// Starts `glimpse serve` on this machine (the embedded model by default) when
// no server is reachable. The CLI comes from the setting, the Glimpse
// repository open in the workspace, the repository around the extension (a
// development install), or `glimpse` on PATH.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export interface LocalServerOptions {
  /** Path to bin/glimpse.js of @glimpse/server, or "" to search. */
  cliPath: string;
  /** Model folder, or "" for the CLI's default (the embedded models/glimpse-coder-tiny). */
  modelDir: string;
  /** Folders to search for packages/server/bin/glimpse.js. */
  searchRoots: string[];
  /** JSON for --speculative-config. */
  speculativeConfig: string;
  log: (line: string) => void;
}

export class LocalServer {
  private proc: ChildProcess | undefined;
  url: string | undefined;

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null;
  }

  static findCli(o: Pick<LocalServerOptions, "cliPath" | "searchRoots">): { command: string; args: string[] } | undefined {
    if (o.cliPath) return { command: process.execPath, args: [o.cliPath] };
    for (const root of o.searchRoots) {
      // Walk up: the extension may live at packages/vscode-ext inside the repository.
      let dir = resolve(root);
      for (let i = 0; i < 6; i++) {
        const cli = join(dir, "packages", "server", "bin", "glimpse.js");
        if (existsSync(cli)) return { command: process.execPath, args: [cli] };
        const parent = dirname(dir);
        if (parent === dir) break;
        dir = parent;
      }
    }
    for (const p of (process.env.PATH ?? "").split(":")) {
      if (p && existsSync(join(p, "glimpse"))) return { command: join(p, "glimpse"), args: [] };
    }
    return undefined;
  }

  /** Starts the server on a free port of 127.0.0.1 and resolves with its URL once it listens. */
  start(o: LocalServerOptions, timeoutMs = 120_000): Promise<string> {
    const cli = LocalServer.findCli(o);
    if (!cli) {
      return Promise.reject(new Error("glimpse CLI not found: set glimpse.localServer.cliPath to packages/server/bin/glimpse.js"));
    }
    const args = [...cli.args, "serve", "--host", "127.0.0.1", "--port", "0", "--log-level", "warn", "--speculative-config", o.speculativeConfig];
    if (o.modelDir) args.push("--model", o.modelDir);
    o.log(`starting local server: ${cli.command} ${args.join(" ")}`);
    // In desktop VS Code process.execPath is Electron: run it as plain Node.
    const proc = spawn(cli.command, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    return new Promise((resolvePromise, reject) => {
      let err = "";
      const timer = setTimeout(() => fail(new Error(`local server did not start in ${timeoutMs / 1000} s`)), timeoutMs);
      const fail = (e: Error) => {
        clearTimeout(timer);
        this.stop();
        reject(e);
      };
      proc.stdout?.on("data", (b: Buffer) => o.log(b.toString().trimEnd()));
      proc.stderr?.on("data", (b: Buffer) => {
        const s = b.toString();
        err += s;
        o.log(s.trimEnd());
        // The CLI prints "Glimpse is serving '<model>' at <url>." once it listens.
        const m = /serving '[^']*' at (http:\/\/[^\s.]+(?:\.[^\s.]+)*:\d+)/.exec(err);
        if (m && !this.url) {
          clearTimeout(timer);
          this.url = m[1];
          resolvePromise(m[1]);
        }
      });
      proc.once("error", fail);
      proc.once("exit", (code) => {
        this.url = undefined;
        if (this.proc === proc) this.proc = undefined;
        fail(new Error(`local server exited (${code}): ${err.trim().split("\n").slice(-3).join(" ")}`));
      });
    });
  }

  stop(): void {
    const p = this.proc;
    this.proc = undefined;
    this.url = undefined;
    if (p && p.exitCode === null) p.kill("SIGTERM");
  }
}
