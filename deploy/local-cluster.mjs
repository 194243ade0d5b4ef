#!/usr/bin/env node
// A Glimpse cluster on 127.0.0.1 for tests and benches: redis-server, N
// `glimpse serve --shared-cache` replicas and nginx in front, each a plain
// child process on a free port with its files in one temporary folder (no
// system services). Used as a library (tests, packages/server/bench/cluster.mjs)
// or run directly:
//   node deploy/local-cluster.mjs --replicas 2 [--no-shared] [--appendonly] [--port 8000]
// which prints the URLs and stops everything on Ctrl-C.

import { spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = fileURLToPath(new URL(".", import.meta.url));
export const GLIMPSE_BIN = join(HERE, "../packages/server/bin/glimpse.js");
export const EMBEDDED_MODEL = process.env.GLIMPSE_MODEL_DIR ?? join(HERE, "../models/glimpse-coder-tiny");
const TEMPLATE = join(HERE, "nginx.conf.template");

// Children still running; killed if this process exits without stopping them.
const live = new Set();
process.once("exit", () => { for (const c of live) c.kill("SIGKILL"); });

/** The path of a program (PATH, then the sbin folders Debian puts servers in); throws a clear error when missing. */
export function findBinary(name) {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const d of dirs) if (d && existsSync(join(d, name))) return join(d, name);
  throw new Error(`${name} not found on PATH or in /usr/sbin: install it (Debian: apt-get install -y nginx redis-server)`);
}

export async function freePort() {
  const s = createServer();
  await new Promise((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `ready` every 50 ms until it resolves true or `timeoutMs` passes; fails early if the child exits. */
async function waitUntil(what, ready, child, timeoutMs, logFile) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited (code ${child.exitCode}): ${tail(logFile)}`);
    if (await ready().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms: ${tail(logFile)}`);
}

function tail(file) {
  try {
    return readFileSync(file, "utf8").slice(-2000);
  } catch {
    return "(no log)";
  }
}

/** Starts a child with stdout and stderr appended to a log file; `stop` sends SIGTERM, then SIGKILL after `graceMs`. */
function launch(cmd, args, logFile) {
  const out = openSync(logFile, "a");
  const child = spawn(cmd, args, { stdio: ["ignore", out, out] });
  closeSync(out); // the child holds its own copy
  live.add(child);
  const exited = new Promise((resolve) => child.once("exit", () => { live.delete(child); resolve(); }));
  return {
    child,
    exited,
    async stop(signal = "SIGTERM", graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function redisPing(port) {
  return new Promise((resolve) => {
    const sock = createConnection({ host: "127.0.0.1", port }, () => sock.write("PING\r\n"));
    sock.once("data", (d) => { sock.destroy(); resolve(d.toString().startsWith("+PONG")); });
    sock.once("error", () => resolve(false));
  });
}

/** redis-server on 127.0.0.1: no snapshots; `appendonly` keeps the stream across restarts. */
export async function startRedis({ dir, port, appendonly = false }) {
  const bin = findBinary("redis-server");
  port ??= await freePort();
  const log = join(dir, "redis.log");
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", appendonly ? "yes" : "no", "--dir", dir, "--daemonize", "no"];
  let proc = null;
  const redis = {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    get pid() { return proc?.child.pid; },
    async start() {
      proc = launch(bin, args, log);
      await waitUntil("redis-server", () => redisPing(port), proc.child, 10_000, log);
    },
    async stop(signal = "SIGTERM") { await proc?.stop(signal); },
    /** Stops and starts it again on the same port (without appendonly, the stream is gone). */
    async restart({ downMs = 0 } = {}) {
      await redis.stop();
      await sleep(downMs);
      await redis.start();
    },
  };
  await redis.start();
  return redis;
}

/** One `glimpse serve` child; resolves once /health answers 200. */
export async function startReplica({ dir, name, port, model = EMBEDDED_MODEL, speculativeConfig = '{"method": "suffix"}', redisUrl, args = [] }) {
  port ??= await freePort();
  const log = join(dir, `${name}.log`);
  const argv = [GLIMPSE_BIN, "serve", "--model", model, "--port", String(port), "--log-level", "warn", ...args];
  if (speculativeConfig) argv.push("--speculative-config", speculativeConfig);
  if (redisUrl) argv.push("--shared-cache", redisUrl);
  const proc = launch(process.execPath, argv, log);
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(name, async () => (await fetch(`${url}/health`)).ok, proc.child, 120_000, log);
  return { name, port, url, log, child: proc.child, stop: proc.stop, kill: () => proc.stop("SIGKILL") };
}

/** nginx with deploy/nginx.conf.template, prefix `dir`, in the foreground. */
export async function startNginx({ dir, upstreamPorts, port }) {
  const bin = findBinary("nginx");
  port ??= await freePort();
  for (const d of ["logs", "tmp"]) mkdirSync(join(dir, d), { recursive: true });
  // Run as root, nginx's workers become `nobody`: they must reach the prefix and write temp files.
  chmodSync(dir, 0o755);
  chmodSync(join(dir, "tmp"), 0o1777);
  const upstreams = upstreamPorts.map((p) => `server 127.0.0.1:${p} max_fails=1 fail_timeout=10s;`).join("\n    ");
  const conf = readFileSync(TEMPLATE, "utf8")
    .replaceAll("${GLIMPSE_LISTEN}", `127.0.0.1:${port}`)
    .replaceAll("${GLIMPSE_UPSTREAMS}", upstreams)
    .replace("worker_processes auto;", "worker_processes 1;"); // a test machine's cores belong to the replicas
  const confFile = join(dir, "nginx.conf");
  writeFileSync(confFile, conf);
  const check = spawnSync(bin, ["-t", "-q", "-p", dir, "-e", "logs/error.log", "-c", confFile], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`nginx -t failed: ${check.stderr}`);
  const log = join(dir, "logs", "error.log");
  const proc = launch(bin, ["-p", dir, "-e", "logs/error.log", "-c", confFile], join(dir, "nginx.out"));
  const url = `http://127.0.0.1:${port}`;
  await waitUntil("nginx", async () => (await fetch(`${url}/nginx-health`)).ok, proc.child, 10_000, log);
  // SIGQUIT: graceful (finishes open requests); SIGTERM: fast.
  return { port, url, confFile, log, stop: (signal = "SIGQUIT") => proc.stop(signal, 5000) };
}

/**
 * redis-server, `replicas` replicas (sharing the cache unless `shared` is false) and nginx.
 * `replicaArgs` go to every `glimpse serve`. `stop()` stops all and removes the folder.
 */
export async function startCluster({ replicas = 2, shared = true, appendonly = false, port, model, speculativeConfig, replicaArgs = [], keepDir = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "glimpse-cluster-"));
  const started = { dir, redis: null, replicas: [], nginx: null };
  const stop = async () => {
    await started.nginx?.stop("SIGTERM");
    await Promise.all(started.replicas.map((r) => r.stop()));
    await started.redis?.stop();
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    started.redis = await startRedis({ dir, appendonly });
    // One at a time: loading a model on a small machine is CPU-bound anyway.
    for (let i = 0; i < replicas; i++) {
      started.replicas.push(await startReplica({ dir, name: `replica-${i}`, model, speculativeConfig, redisUrl: shared ? started.redis.url : undefined, args: replicaArgs }));
    }
    started.nginx = await startNginx({ dir, upstreamPorts: started.replicas.map((r) => r.port), port });
  } catch (err) {
    await stop();
    throw err;
  }
  return { ...started, url: started.nginx.url, stop };
}

async function main() {
  const { values } = parseArgs({
    options: {
      replicas: { type: "string", default: "2" },
      "no-shared": { type: "boolean", default: false },
      appendonly: { type: "boolean", default: false },
      port: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("node deploy/local-cluster.mjs [--replicas N] [--no-shared] [--appendonly] [--port P]\n" +
      "Starts redis-server, N glimpse replicas (--shared-cache) and nginx on 127.0.0.1; Ctrl-C stops them.");
    return;
  }
  const cluster = await startCluster({
    replicas: Number(values.replicas), shared: !values["no-shared"], appendonly: values.appendonly,
    port: values.port ? Number(values.port) : undefined, keepDir: true,
  });
  console.log(`nginx     ${cluster.url}   (config ${cluster.nginx.confFile})`);
  console.log(`redis     ${cluster.redis.url}`);
  for (const r of cluster.replicas) console.log(`${r.name} ${r.url}   (log ${r.log})`);
  console.log(`files     ${cluster.dir}\nCtrl-C stops everything.`);
  const quit = async () => {
    await cluster.stop();
    process.exit(0);
  };
  process.once("SIGINT", quit);
  process.once("SIGTERM", quit);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(`local-cluster: ${err.message}`);
    process.exit(1);
  });
}
