// Shared by the engine benches: the default model, engine thread flags, medians,
// machine info, and loading the engine of this build and, for a before/after
// comparison (`--baseline`), of another build.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { cpus, freemem, loadavg, release, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const DEFAULT_MODEL = fileURLToPath(new URL("../../../models/glimpse-coder-tiny", import.meta.url));

/** This package's built engine (`npm run build -w @glimpse/runtime-cuda`). */
export const OWN_DIST = fileURLToPath(new URL("../dist/index.js", import.meta.url));

/** Engine options for a `--threads N` flag (none: the engine's default). */
export const threadOptions = (threads) => (threads ? { intraOpThreads: Number(threads) } : {});

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const loadText = () => loadavg().map((x) => x.toFixed(2)).join(" ");

/** One line: CPU model and cores, load average, memory, Node and kernel. */
export function machineInfo() {
  const cores = cpus();
  const gib = (b) => (b / 2 ** 30).toFixed(1);
  return `machine: ${cores.length} x ${cores[0]?.model ?? "unknown CPU"}; load average ${loadText()} (1/5/15 min); `
    + `memory ${gib(freemem())} of ${gib(totalmem())} GiB free; node ${process.version}; linux ${release()}`;
}

/** The load average now, for a line at the end of a run (a busy spell shows up here). */
export const loadLine = () => `load average at the end: ${loadText()} (1/5/15 min)`;

/**
 * The entry file of a runtime-cuda build: a `.js` file as is; a folder is
 * taken as the package (its package.json `main`, else dist/index.js) or as
 * the dist folder itself (index.js).
 */
export function resolveBuild(path) {
  const p = resolve(path);
  if (!existsSync(p)) throw new Error(`no such build: ${p}`);
  if (statSync(p).isFile()) return p;
  const pkg = join(p, "package.json");
  const candidates = [];
  if (existsSync(pkg)) {
    const main = JSON.parse(readFileSync(pkg, "utf8")).main;
    if (main) candidates.push(join(p, main));
  }
  candidates.push(join(p, "dist", "index.js"), join(p, "index.js"));
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`${p} holds no built engine (tried ${candidates.join(", ")}); run its npm run build first`);
  return found;
}

function describeBuild(file) {
  let commit = "";
  try {
    commit = execFileSync("git", ["-C", dirname(file), "rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    // not in a git checkout
  }
  const built = statSync(file).mtime.toISOString().replace(/\.\d+Z$/, "Z");
  return `${file} (built ${built}${commit ? `, its checkout at HEAD ${commit}` : ""})`;
}

/**
 * The builds a bench compares: this one ("current", or the one `--current`
 * names) and, with `--baseline`, another ("baseline"), each with the Engine
 * class of its own dist (and so its own dependencies). Prints which files.
 */
export async function loadBuilds({ current, baseline } = {}) {
  const specs = [["current", current ?? OWN_DIST]];
  if (baseline) specs.push(["baseline", baseline]);
  const builds = [];
  for (const [label, path] of specs) {
    const file = resolveBuild(path);
    const mod = await import(pathToFileURL(file).href);
    if (typeof mod.Engine?.load !== "function") throw new Error(`${file} exports no Engine class`);
    builds.push({ label, file, Engine: mod.Engine });
    console.log(`${label}: ${describeBuild(file)}`);
  }
  if (builds.length === 2 && builds[0].file === builds[1].file) {
    console.log("note: both builds are the same file; the module is loaded once, so this compares an engine build with itself");
  }
  return builds;
}

/**
 * Order of one round: `units` rotated by the round number (no unit always
 * first, or always right after a given one; `rotate: false` keeps their
 * order), and within each unit the builds back to back, alternating which
 * goes first from round to round, so each current/baseline ratio compares
 * runs made moments apart. Returns [unit, build] pairs.
 */
export function roundOrder(units, builds, round, { rotate = true } = {}) {
  const order = [];
  for (let k = 0; k < units.length; k++) {
    const unit = units[rotate ? (k + round) % units.length : k];
    const bs = round % 2 === 0 ? builds : [...builds].reverse();
    for (const b of bs) order.push([unit, b]);
  }
  return order;
}

/** Median over rounds of a[r] / b[r]. */
export const medianRatio = (a, b) => median(a.map((x, r) => x / b[r]));

/**
 * Compares the greedy outputs of the two builds: `check(where, current,
 * baseline)` with two token id arrays; counts and keeps a few mismatches
 * (a behaviour-preserving change must leave them token-identical).
 */
export class OutputCheck {
  compared = 0;
  mismatches = 0;
  examples = [];

  check(where, current, baseline) {
    this.compared++;
    const a = Array.from(current);
    const b = Array.from(baseline);
    if (a.length === b.length && a.every((t, i) => t === b[i])) return;
    this.mismatches++;
    if (this.examples.length < 5) {
      let i = 0;
      while (i < a.length && i < b.length && a[i] === b[i]) i++;
      this.examples.push(`${where}: first difference at token ${i} (current ${a.length} tokens, baseline ${b.length})`);
    }
  }

  /** The report; also sets a failing exit code when the builds' outputs differ. */
  summary() {
    if (this.mismatches) process.exitCode = 1;
    const lines = [`greedy outputs, current vs baseline: ${this.mismatches} mismatches of ${this.compared} generations compared`
      + (this.mismatches ? "  <-- NOT token-identical" : " (token-identical)")];
    for (const e of this.examples) lines.push(`  ${e}`);
    return lines.join("\n");
  }
}
