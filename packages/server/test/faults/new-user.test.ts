// What a new user meets first: `npm start -- --port N`, PORT and HOST, a busy
// port reported before the model loads, `glimpse --version`, and a startup
// log that says which speculation is really on.

import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { waitFor } from "../helpers.js";
import { BIN, startServe, within } from "./serve-child.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

function listen(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(port, "127.0.0.1", () => resolve(s));
  });
}
async function freePort(): Promise<number> {
  const s = await listen();
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("new-user snags", () => {
  it("glimpse --version prints the version", async () => {
    const { stdout } = await run(process.execPath, [BIN, "--version"]);
    expect(stdout.trim()).toBe(VERSION);
  });

  it("a busy port is reported before the model loads", async () => {
    const busy = await listen();
    try {
      const port = (busy.address() as { port: number }).port;
      const child = startServe(["--port", String(port)]);
      const { code } = await within(child.exited, 60_000, "exit");
      expect(code).toBe(1);
      expect(child.output()).toContain(`127.0.0.1:${port} is already in use`);
      expect(child.output()).not.toContain("engine loaded");
    } finally {
      busy.close();
    }
  });

  it("PORT and HOST set the address; the startup log shows the speculation really on", async () => {
    const port = await freePort();
    const child = startServe(["--speculative-config", '{"method": "suffix"}'], { PORT: String(port), HOST: "127.0.0.1" });
    try {
      expect(await child.url).toBe(`http://127.0.0.1:${port}`);
      const loaded = JSON.parse(child.output().split("\n").find((l) => l.includes('"engine loaded"'))!);
      expect(loaded.speculative).toMatchObject({ method: "suffix", suffix_decoding: { max_depth: expect.any(Number) } });
      expect(child.output()).not.toContain("enableSuffixDecoding");
    } finally {
      await child.stop();
    }
  });

  it("npm start -- --port N serves on port N", async () => {
    const port = await freePort();
    // Its own process group, so that npm, turbo and the server all stop together.
    const npm = spawn("npm", ["start", "--", "--port", String(port)], { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    npm.stdout!.on("data", (d) => (out += d));
    npm.stderr!.on("data", (d) => (out += d));
    const exited = new Promise((r) => npm.once("exit", r));
    try {
      const ok = await waitFor(() => out.includes(`"url":"http://127.0.0.1:${port}"`) || npm.exitCode !== null, 240_000);
      expect(ok && npm.exitCode === null, out.slice(-2000)).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    } finally {
      if (npm.exitCode === null) process.kill(-npm.pid!, "SIGTERM");
      await within(exited, 30_000, "npm start to stop").catch(() => process.kill(-npm.pid!, "SIGKILL"));
    }
  });
});
