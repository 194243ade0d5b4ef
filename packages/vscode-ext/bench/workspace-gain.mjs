#!/usr/bin/env node
// What workspace-aware speculation buys: fill-in-the-middle completions in a
// file whose sibling files are open (and so, through the language server's
// WorkspaceContext, in the Glimpse server's suffix context), against the same
// completions with no documents. Each condition gets a fresh server (the
// global suffix tree also learns from earlier completions). Greedy decoding:
// both conditions must produce the same text (speculation is lossless); what
// changes is how many tokens each verification step accepts, and the time.
//
//   node bench/workspace-gain.mjs [--points-per-file 3] [--max-tokens 48] [--prefix-chars 1500] [--suffix-chars 500] [--json out.json]
// Env: GLIMPSE_MODEL_DIR (default models/glimpse-coder-tiny).

import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { importSources } from "../scripts/import-sources.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = resolve(here, "..");
const repoRoot = resolve(pkgDir, "..", "..");
const modelDir = process.env.GLIMPSE_MODEL_DIR ?? join(repoRoot, "models", "glimpse-coder-tiny");
const { values: opt } = parseArgs({
  options: {
    "points-per-file": { type: "string", default: "3" },
    "max-tokens": { type: "string", default: "48" },
    json: { type: "string" },
    // The extension's default budgets.
    "prefix-chars": { type: "string", default: "1500" },
    "suffix-chars": { type: "string", default: "500" },
  },
});
const POINTS = Number(opt["points-per-file"]);
const MAX_TOKENS = Number(opt["max-tokens"]);

// Groups of similar files (routes, schemas, modules of one package; the packages' package.json and
// tsconfig files): each file is the target once, with the rest of its group as the open documents.
const GROUPS = [
  "packages/server/src/routes",
  "packages/server/src/schemas",
  "packages/vscode-ext/src/server",
  "packages/server/src",
  ["package.json", "packages/runtime-cuda/package.json", "packages/server/package.json", "packages/suffix-wasm/package.json"],
  ["packages/runtime-cuda/tsconfig.json", "packages/server/tsconfig.json", "packages/suffix-wasm/tsconfig.json", "packages/vscode-ext/tsconfig.json",
    "packages/server/tsconfig.build.json", "packages/runtime-cuda/tsconfig.build.json", "packages/suffix-wasm/tsconfig.build.json", "tsconfig.base.json"],
];

function loadModules() {
  return importSources("bench-modules", {
    "src/server/context-window.ts": ["contextWindow"],
    "src/server/glimpse-client.ts": ["GlimpseClient"],
    "src/server/workspace-context.ts": ["WorkspaceContext"],
  });
}

function startServer() {
  const args = [join(repoRoot, "packages", "server", "bin", "glimpse.js"), "serve", "--model", modelDir, "--host", "127.0.0.1", "--port", "0",
    "--log-level", "warn", "--speculative-config", '{"method": "suffix"}'];
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  return new Promise((done, fail) => {
    proc.stderr.on("data", (b) => {
      err += b;
      const m = /serving '[^']*' at (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) done({ url: m[1], stop: () => new Promise((r) => (proc.once("exit", r), proc.kill("SIGTERM"))) });
    });
    proc.once("exit", (c) => fail(new Error(`glimpse serve exited (${c}): ${err}`)));
  });
}

/** Completion points: the middle is the rest of a line plus the next line, at evenly spaced non-blank lines. */
function pointsOf(text) {
  const lines = text.split("\n");
  const candidates = [];
  let offset = 0;
  for (let i = 0; i < lines.length - 2; i++) {
    const l = lines[i];
    const indent = l.length - l.trimStart().length;
    if (l.trim().length > 12 && !l.trim().startsWith("//") && !l.trim().startsWith("*")) {
      // Cut after the first word of the line (the user has started typing it).
      const word = /^\s*\S+\s?/.exec(l)[0].length;
      const start = offset + Math.max(indent + 1, word);
      const end = offset + l.length + 1 + lines[i + 1].length;
      candidates.push({ start, end });
    }
    offset += l.length + 1;
  }
  if (candidates.length === 0) return [];
  const step = candidates.length / POINTS;
  return Array.from({ length: Math.min(POINTS, candidates.length) }, (_, k) => candidates[Math.floor(k * step + step / 2)]);
}

/**
 * withDocs: false (no documents), "open" (the sibling files and the edited file as it stands, what the
 * language server sends for open files), or "repeat" (also a copy of the file that contains the middle:
 * the user is re-typing code that exists in another open file, e.g. a duplicated module being adapted),
 * or "answer" (an open document holds the cursor's context followed by exactly what the model will write:
 * the ceiling of the mechanism, reached when the workspace already contains the code being completed).
 */
async function runCondition(m, cases, withDocs, answers = []) {
  const server = await startServer();
  const client = new m.GlimpseClient({ baseUrl: server.url, timeoutMs: 120_000 });
  const rows = [];
  try {
    for (const c of cases) {
      const text = c.text.slice(0, c.point.start) + c.text.slice(c.point.end);
      let ws;
      if (withDocs) {
        // The language server's own document sync, as it runs for open files: the siblings and the
        // edited file as it stands (without the middle the user is about to write).
        ws = new m.WorkspaceContext(() => client, { syncDelayMs: 0, maxDocuments: 64 });
        for (const s of c.siblings) ws.opened(pathToFileURL(s.path).href, () => s.text);
        ws.opened(pathToFileURL(join(repoRoot, c.file)).href, () => text);
        if (withDocs === "repeat") ws.opened(pathToFileURL(join(repoRoot, c.file + ".orig")).href, () => c.text);
        if (withDocs === "answer") {
          const i = cases.indexOf(c);
          ws.opened(pathToFileURL(join(repoRoot, c.file + ".answer")).href, () => text.slice(Math.max(0, c.point.start - 300), c.point.start) + answers[i]);
        }
        await ws.flush();
      }
      const ctx = m.contextWindow(text, c.point.start, Number(opt["prefix-chars"]), Number(opt["suffix-chars"]));
      const r = await client.complete({ prompt: ctx.prefix, suffix: ctx.suffix, maxTokens: MAX_TOKENS });
      rows.push({ file: c.file, json: c.file.endsWith(".json"), at: c.point.start, text: r.text, tokens: r.completionTokens, draft: r.draftTokens, accepted: r.acceptedDraftTokens, ms: r.latencyMs });
      if (ws) await ws.clear();
    }
  } finally {
    await server.stop();
  }
  return rows;
}

function summary(rows) {
  const sum = (k) => rows.reduce((s, r) => s + r[k], 0);
  const tokens = sum("tokens");
  const accepted = sum("accepted");
  const ms = rows.map((r) => r.ms).sort((a, b) => a - b);
  return {
    completions: rows.length,
    tokens,
    draftTokens: sum("draft"),
    acceptedDraftTokens: accepted,
    draftAcceptanceRate: +(accepted / Math.max(1, sum("draft"))).toFixed(3),
    // Tokens per verification step: each step gives one token plus the draft tokens it accepted.
    tokensPerStep: +(tokens / Math.max(1, tokens - accepted)).toFixed(3),
    totalMs: Math.round(sum("ms")),
    tokensPerSecond: Math.round((1000 * tokens) / Math.max(1, sum("ms"))),
    p50Ms: Math.round(ms[Math.floor((ms.length - 1) / 2)]),
  };
}

async function main() {
  if (!existsSync(join(modelDir, "config.json"))) throw new Error(`no model at ${modelDir} (set GLIMPSE_MODEL_DIR)`);
  const m = await loadModules();
  const cases = [];
  for (const g of GROUPS) {
    const paths = Array.isArray(g)
      ? g.map((f) => join(repoRoot, f)).filter((f) => existsSync(f))
      : existsSync(join(repoRoot, g)) ? readdirSync(join(repoRoot, g)).filter((f) => f.endsWith(".ts")).map((f) => join(repoRoot, g, f)) : [];
    const files = paths.map((path) => ({ path, text: readFileSync(path, "utf8") }));
    for (const f of files) {
      const siblings = files.filter((s) => s !== f);
      for (const point of pointsOf(f.text)) cases.push({ file: relative(repoRoot, f.path), text: f.text, point, siblings });
    }
  }
  process.stderr.write(`${cases.length} completion points in ${new Set(cases.map((c) => c.file)).size} files, max ${MAX_TOKENS} tokens, model ${modelDir}\n`);
  const without = await runCondition(m, cases, false);
  const open = await runCondition(m, cases, "open");
  const repeat = await runCondition(m, cases, "repeat");
  const answer = await runCondition(m, cases, "answer", without.map((r) => r.text));
  const same = without.filter((r, i) => r.text === open[i].text && r.text === repeat[i].text && r.text === answer[i].text).length;
  const result = {
    model: modelDir.startsWith(repoRoot) ? relative(repoRoot, modelDir) : modelDir,
    maxTokens: MAX_TOKENS,
    completionPoints: cases.length,
    noDocuments: summary(without),
    openDocuments: summary(open),
    repeatedFromOpenDocument: summary(repeat),
    answerInOpenDocument: summary(answer),
    jsonOnly: { noDocuments: summary(without.filter((r) => r.json)), openDocuments: summary(open.filter((r) => r.json)) },
    // Speculation is lossless: the text must not depend on the documents.
    identicalOutputs: `${same}/${without.length}`,
  };
  console.log(JSON.stringify(result, null, 2));
  if (opt.json) writeFileSync(opt.json, JSON.stringify({ ...result, rows: { without, open, repeat, answer } }, null, 2) + "\n");
}

await main();
