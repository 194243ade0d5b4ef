// Helpers of the end-to-end test (e2e/run.mjs): processes (a Glimpse server,
// code-server, Chromium), waiting, the ghost text in the page, and what the
// Glimpse server answers directly for a context (to check what was accepted).

import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { importSources } from "../scripts/import-sources.mjs";
import { codeServerBin } from "./setup.mjs";

const t0 = Date.now();
export const say = (m) => process.stderr.write(`[e2e +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Processes started here (ended by stopChildren). */
export const children = [];

export function freePort() {
  return new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => done(p));
    });
  });
}

export async function waitFor(what, fn, timeoutMs = 30_000, everyMs = 100) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : null;
}

export function startGlimpse(repoRoot, modelDir) {
  if (!existsSync(join(modelDir, "config.json"))) throw new Error(`no model at ${modelDir} (set GLIMPSE_MODEL_DIR)`);
  const args = [join(repoRoot, "packages", "server", "bin", "glimpse.js"), "serve", "--model", modelDir, "--host", "127.0.0.1",
    "--port", "0", "--log-level", "warn", "--speculative-config", '{"method": "suffix"}'];
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  children.push(proc);
  let err = "";
  return new Promise((done, fail) => {
    proc.stderr.on("data", (b) => {
      err += b;
      const m = /serving '[^']*' at (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) done(m[1]);
    });
    proc.once("exit", (c) => fail(new Error(`glimpse serve exited (${c}): ${err}`)));
  });
}

export async function startCodeServer({ env, userData, extDir, work, folder }) {
  writeFileSync(join(work, "config.yaml"), "auth: none\n");
  const port = await freePort();
  say(`starting code-server on ${port}`);
  const cs = spawn(process.execPath, [codeServerBin, "--bind-addr", `127.0.0.1:${port}`, "--auth", "none", "--disable-telemetry", "--disable-update-check",
    "--disable-workspace-trust", "--disable-getting-started-override", "--user-data-dir", userData, "--extensions-dir", extDir,
    "--config", join(work, "config.yaml"), folder], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  children.push(cs);
  const log = { text: "" };
  cs.stdout.on("data", (b) => (log.text += b));
  cs.stderr.on("data", (b) => (log.text += b));
  await waitFor("code-server", async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    } catch {
      return false;
    }
  }, 60_000, 200);
  return { port, log };
}

export function launchBrowser(work) {
  return chromium.launchPersistentContext(join(work, "chromium"), {
    executablePath: "/usr/bin/chromium",
    headless: process.env.GLIMPSE_E2E_HEADED !== "1",
    viewport: { width: 1400, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** code-server runs in its own process group (extension host, language server, a local Glimpse server): end them all. */
export async function stopChildren() {
  for (const c of children) {
    if (c.exitCode !== null) continue;
    try {
      if (c.spawnargs.includes("--bind-addr")) process.kill(-c.pid, "SIGTERM");
      else c.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
  await sleep(500);
}

/** VS Code settings for the test: Glimpse on, and nothing else that would take Tab or insert text. */
export function userSettings(serverUrl, debounceMs, repoRoot, modelDir) {
  return {
    "glimpse.serverUrl": serverUrl,
    "glimpse.debounceMs": debounceMs,
    // For "Glimpse: Start Local Server" at the end (the extension is installed outside the repository).
    "glimpse.localServer.cliPath": join(repoRoot, "packages", "server", "bin", "glimpse.js"),
    "glimpse.localServer.modelDir": modelDir,
    "editor.inlineSuggest.enabled": true,
    // Keep the suggest widget and auto-closing out of the way, so Tab means "accept the ghost text".
    "editor.quickSuggestions": { other: "off", comments: "off", strings: "off" },
    "editor.suggestOnTriggerCharacters": false,
    "editor.autoClosingBrackets": "never",
    "editor.autoClosingQuotes": "never",
    "editor.acceptSuggestionOnEnter": "off",
    "editor.parameterHints.enabled": false,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "security.workspace.trust.enabled": false,
    "telemetry.telemetryLevel": "off",
    "extensions.ignoreRecommendations": true,
    "json.schemaDownload.enable": false,
    "typescript.disableAutomaticTypeAcquisition": true,
    "git.enabled": false,
    "files.autoSave": "off",
  };
}

/**
 * Ghost text in VS Code 1.100: the part on the cursor's line is injected text
 * (`.ghost-text-decoration`), split into one span per syntax token, so a
 * suggestion opening with spaces has a first span of spaces only; lines below
 * the cursor are `.ghost-text` inside `.suggest-preview-text`. Always read all parts.
 */
export const GHOST_PARTS = ".ghost-text-decoration, .ghost-text-decoration-preview, .suggest-preview-text .ghost-text";

export function ghostText(page) {
  return page.evaluate((sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent ?? "").join(""), GHOST_PARTS);
}

/** In-page timing: keydown (capture phase) to the first non-blank ghost text in the DOM (all its parts). */
export function installGhostProbe(page) {
  return page.evaluate((sel) => {
    const g = (window.__glimpse = { keyAt: 0, ghostAt: 0, keyWall: 0, ghostWall: 0, ghost: "" });
    window.addEventListener("keydown", () => {
      g.keyAt = performance.now();
      g.keyWall = Date.now();
      g.ghostAt = 0;
    }, true);
    new MutationObserver(() => {
      if (!g.keyAt || g.ghostAt) return;
      const text = [...document.querySelectorAll(sel)].map((e) => e.textContent ?? "").join("");
      if (text.trim()) {
        g.ghostAt = performance.now();
        g.ghostWall = Date.now();
        g.ghost = text;
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, GHOST_PARTS);
}

/** The language server's post-processing, bundled for Node from the TypeScript sources (for checking the accepted text). */
export function loadPostprocess() {
  return importSources("e2e-postprocess", {
    "src/server/postprocess.ts": ["postprocess", "stopsFor", "wantsNextLine", "nextLineSuggestion", "NEXT_LINE_STOP", "NEXT_LINE_MAX_TOKENS"],
    "src/server/context-window.ts": ["contextWindow"],
    "src/shared/protocol.ts": ["DEFAULT_SETTINGS"],
  });
}

/** What the language server would suggest for this context, asked of the Glimpse server directly (same requests, same post-processing). */
export async function rawSuggestion(pp, url, text, offset, languageId) {
  const ctx = pp.contextWindow(text, offset, pp.DEFAULT_SETTINGS.prefixChars, pp.DEFAULT_SETTINGS.suffixChars);
  const ask = async (maxTokens, stop) => {
    const r = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: ctx.prefix, suffix: ctx.suffix, max_tokens: maxTokens, temperature: 0, stop }),
    });
    return (await r.json()).choices[0].text;
  };
  const maxTokens = pp.DEFAULT_SETTINGS.maxTokens;
  const raw = await ask(maxTokens, pp.stopsFor(ctx, languageId));
  const suggestion = pp.postprocess(raw, ctx, languageId);
  if (suggestion || !pp.wantsNextLine(raw, ctx, languageId)) return suggestion;
  return pp.nextLineSuggestion(await ask(Math.min(maxTokens, pp.NEXT_LINE_MAX_TOKENS), pp.NEXT_LINE_STOP), ctx, languageId);
}

export async function metricSum(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(" ").pop()), 0);
}
