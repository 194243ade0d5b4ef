#!/usr/bin/env node
// End to end in a real VS Code: code-server 4.100.3 (installed by e2e/setup.mjs)
// with the packaged .vsix installed by --install-extension, a real Glimpse
// server on the embedded model, driven by Playwright and Debian's Chromium.
//   1. the .vsix installs and the extension activates (its status bar item says "ready");
//   2. in a TypeScript and a JSON file: type, ghost text appears, Tab accepts, Ctrl+S saves,
//      and the accepted text is read back from disk; it is what the Glimpse server generated;
//   3. keystroke-to-ghost-text trials (e2e/latency.mjs): suggestion rate and latency after a pause
//      and at the end of a burst, checked against bar 5 (e2e/latency.mjs BAR);
//   4. the commands: statistics, toggle, restart, start a local server.
// Artifacts (screenshots, e2e-result.json, logs, lsp-trace.jsonl): $GLIMPSE_E2E_ARTIFACTS or packages/vscode-ext/artifacts.
// Env: GLIMPSE_MODEL_DIR (default models/glimpse-coder-tiny), GLIMPSE_E2E_SERVER_URL (use a running
// server instead of starting one), GLIMPSE_E2E_TRIALS (pause trials, default 20; burst trials: half), GLIMPSE_E2E_HEADED=1.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { barMisses, latencyTrials } from "./latency.mjs";
import { ghostText, installGhostProbe, launchBrowser, loadPostprocess, metricSum, rawSuggestion, say, sleep, startCodeServer, startGlimpse, stopChildren, userSettings, waitFor } from "./lib.mjs";
import { codeServerBin, setup } from "./setup.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = resolve(here, "..");
const repoRoot = resolve(pkgDir, "..", "..");
const vsix = join(pkgDir, "dist", "glimpse-vscode.vsix");
const artifacts = resolve(process.env.GLIMPSE_E2E_ARTIFACTS ?? join(pkgDir, "artifacts"));
const modelDir = process.env.GLIMPSE_MODEL_DIR ?? join(repoRoot, "models", "glimpse-coder-tiny");
const TRIALS = Number(process.env.GLIMPSE_E2E_TRIALS ?? 20);
const DEBOUNCE_MS = 150; // the extension's default, stated here so the report says what was measured

async function main() {
  mkdirSync(artifacts, { recursive: true });
  setup(); // no-op when installed
  if (!existsSync(vsix)) throw new Error(`${vsix} missing: npm run package -w glimpse-vscode`);
  const pp = await loadPostprocess();

  const work = mkdtempSync(join(tmpdir(), "glimpse-e2e-"));
  const userData = join(work, "user-data");
  const extDir = join(work, "extensions");
  const folder = join(work, "project");
  const logFile = join(artifacts, "extension.log");
  const traceFile = join(artifacts, "lsp-trace.jsonl");
  rmSync(logFile, { force: true });
  rmSync(traceFile, { force: true });
  for (const d of [userData, extDir, folder, join(work, "xdg-config"), join(work, "xdg-data"), join(userData, "User")]) mkdirSync(d, { recursive: true });

  // Bar 4: the .vsix installs into code-server with --install-extension.
  say("installing the .vsix");
  const env = { ...process.env, XDG_CONFIG_HOME: join(work, "xdg-config"), XDG_DATA_HOME: join(work, "xdg-data"), GLIMPSE_VSCODE_LOG: logFile, GLIMPSE_LSP_TRACE: traceFile };
  const installOut = execFileSync(process.execPath, [codeServerBin, "--user-data-dir", userData, "--extensions-dir", extDir, "--install-extension", vsix], { env, encoding: "utf8" });
  if (!/successfully installed/i.test(installOut)) throw new Error(`--install-extension: ${installOut}`);
  say(installOut.trim().split("\n").pop());

  const serverUrl = process.env.GLIMPSE_E2E_SERVER_URL ?? (await startGlimpse(repoRoot, modelDir));
  say(`Glimpse server at ${serverUrl} (model ${process.env.GLIMPSE_E2E_SERVER_URL ? "external" : modelDir})`);

  // Contexts where the embedded model has something to say (a small model: most contexts get little).
  const tsText = 'import { readFile } from "node:fs/promises";\n\n';
  const jsonText = '{\n  "name": "glimpse-demo",\n  "version": "0.1.0",\n  "main":\n  "scripts": {\n    "build": "tsc -p .",\n    "test": "vitest run"\n  }\n}\n';
  writeFileSync(join(folder, "demo.ts"), tsText);
  writeFileSync(join(folder, "demo.json"), jsonText);
  writeFileSync(join(folder, "latency.ts"), "// Latency trials.\n");
  writeFileSync(join(userData, "User", "settings.json"), JSON.stringify(userSettings(serverUrl, DEBOUNCE_MS, repoRoot, modelDir), null, 2));
  const { port, log: csLog } = await startCodeServer({ env, userData, extDir, work, folder });

  const browser = await launchBrowser(work);
  const result = { serverUrl, model: process.env.GLIMPSE_E2E_SERVER_URL ? "external" : modelDir, debounceMs: DEBOUNCE_MS, loadAverage: loadavg().map((x) => +x.toFixed(2)), checks: {}, latency: {} };
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`);
    await page.waitForSelector(".monaco-workbench", { timeout: 60_000 });
    say("workbench loaded");
    // The extension activates after startup; its status bar item turns "ready" once the language server has reached the Glimpse server.
    await waitFor("extension activation (log)", () => existsSync(logFile) && /activated/.test(readFileSync(logFile, "utf8")), 60_000, 200);
    const status = page.locator(".statusbar-item", { hasText: "Glimpse" }).first();
    await status.waitFor({ timeout: 30_000 });
    await waitFor("status bar 'ready'", async () => /Glimpse ready/.test((await status.textContent()) ?? ""), 30_000, 100);
    result.checks.activated = (await status.textContent())?.trim();
    say(`extension active: status bar "${result.checks.activated}"`);
    await installGhostProbe(page);

    async function openFile(name) {
      const row = page.locator(".explorer-folders-view .monaco-list-row", { hasText: name }).first();
      await row.click();
      await page.waitForSelector(`.tab[data-resource-name="${name}"], .tab:has-text("${name}")`, { timeout: 15_000 });
      await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
      await sleep(300);
    }

    async function acceptFlow(name, languageId, original, line, typed) {
      say(`${name}: typing ${JSON.stringify(typed)} on line ${line + 1}`);
      await openFile(name);
      await page.keyboard.press("Control+Home");
      for (let i = 0; i < line; i++) await page.keyboard.press("ArrowDown");
      await page.keyboard.press("End");
      await page.keyboard.type(typed, { delay: 30 });
      const ghost = await waitFor(`ghost text in ${name}`, async () => {
        const t = await ghostText(page);
        return t.trim() ? t : null;
      }, 20_000, 20);
      await page.screenshot({ path: join(artifacts, `ghost-${name.replace(/\W/g, "-")}.png`) });
      say(`${name}: ghost text ${JSON.stringify(ghost)}`);
      await page.keyboard.press("Tab");
      await sleep(200);
      await page.keyboard.press("Control+s");
      const lines = original.split("\n");
      const before = lines.slice(0, line + 1).join("\n") + typed;
      const after = "\n" + lines.slice(line + 1).join("\n");
      const disk = await waitFor(`${name} saved`, () => {
        const t = readFileSync(join(folder, name), "utf8");
        return t !== original ? t : null;
      }, 10_000);
      if (!disk.startsWith(before) || !disk.endsWith(after)) throw new Error(`${name}: unexpected file after accept:\n${disk}`);
      const accepted = disk.slice(before.length, disk.length - after.length);
      if (!accepted.trim()) throw new Error(`${name}: nothing accepted`);
      // What the language server served for that context (its trace), and what the Glimpse server generates for it.
      const served = readFileSync(traceFile, "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.source && e.uri.endsWith(name));
      const last = served.filter((e) => e.offset === before.length && e.text === accepted).pop() ?? served.filter((e) => e.offset === before.length).pop();
      const direct = await rawSuggestion(pp, serverUrl, before + after, before.length, languageId);
      const ok = last && last.text === accepted && (last.source !== "server" || direct === accepted);
      result.checks[name] = { typed, ghost, accepted, servedFrom: last?.source, directFromServer: direct, ok };
      say(`${name}: accepted ${JSON.stringify(accepted)} (served from ${last?.source}; direct request gives ${JSON.stringify(direct)})`);
      if (!ok) throw new Error(`${name}: accepted text does not match what Glimpse served`);
    }

    await acceptFlow("demo.ts", "typescript", tsText, 1, "import ");
    await acceptFlow("demo.json", "json", jsonText, 3, " ");

    await openFile("latency.ts");
    await page.keyboard.press("Control+End");
    const { pause, burst } = await latencyTrials(page, traceFile, TRIALS, (kind, summary) => (result[kind === "pause" ? "latency" : "latencyBurst"] = summary));
    result.bar = { misses: barMisses(pause, burst) };
    await page.screenshot({ path: join(artifacts, "latency.png") });
    // Statistics as the status bar shows them.
    result.checks.statusBar = (await status.textContent())?.trim();
    result.checks.statusTooltip = await status.getAttribute("aria-label");

    // Commands from the palette: statistics (a notification), toggle off and on (the status bar follows).
    async function runCommand(title) {
      await page.keyboard.press("Escape");
      await page.keyboard.press("F1");
      await page.waitForSelector(".quick-input-widget input", { timeout: 10_000 });
      await page.keyboard.insertText(title);
      await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor({ timeout: 10_000 });
      await page.keyboard.press("Enter");
    }
    await runCommand("Glimpse: Show Statistics");
    const toast = page.locator(".notifications-toasts .notification-toast", { hasText: "requests" }).first();
    await toast.waitFor({ timeout: 10_000 });
    result.checks.statisticsNotification = (await toast.locator(".notification-list-item-message").first().textContent())?.trim();
    await page.screenshot({ path: join(artifacts, "statistics.png") });
    say(`statistics: ${result.checks.statisticsNotification}`);
    // Both accepts reached the language server (the LSP command each suggestion carries).
    const accepted = Number(/accepted (\d+) of/.exec(result.checks.statisticsNotification ?? "")?.[1] ?? -1);
    if (accepted < 2) throw new Error(`statistics report ${accepted} accepted suggestions, expected at least 2`);
    await runCommand("Glimpse: Toggle Inline Suggestions");
    await waitFor("status bar 'disabled'", async () => /Glimpse disabled/.test((await status.textContent()) ?? ""), 10_000, 50);
    await runCommand("Glimpse: Toggle Inline Suggestions");
    await waitFor("status bar back to 'ready'", async () => /Glimpse ready/.test((await status.textContent()) ?? ""), 10_000, 50);
    result.checks.toggle = "disabled, then ready again";
    say("toggle: off and on again");
    const starts = () => (readFileSync(logFile, "utf8").match(/language server started/g) ?? []).length;
    const startsBefore = starts();
    await runCommand("Glimpse: Restart Server");
    await waitFor("language server restarted", () => starts() > startsBefore, 20_000, 100);
    await waitFor("status bar 'ready' after the restart", async () => /Glimpse ready/.test((await status.textContent()) ?? ""), 20_000, 50);
    result.checks.restart = "language server restarted, ready";
    say("restart: language server restarted");

    // The local server launcher: starts `glimpse serve` on the model and switches the language server to it.
    await runCommand("Glimpse: Start Local Server");
    const localUrl = await waitFor("local server", () => {
      const m = /local server listening at (\S+)/.exec(readFileSync(logFile, "utf8"));
      return m ? m[1] : null;
    }, 90_000, 200);
    await waitFor("status bar 'ready' with the local server", async () => /Glimpse ready/.test((await status.textContent()) ?? ""), 20_000, 50);
    const requestsBefore = await metricSum(localUrl, "vllm:request_success_total");
    await openFile("latency.ts");
    await page.keyboard.press("Control+End");
    await page.keyboard.press("Enter");
    await page.keyboard.type("const local = add(", { delay: 30 });
    await waitFor("ghost text from the local server", async () => (await ghostText(page)).trim(), 20_000, 20);
    const requestsAfter = await metricSum(localUrl, "vllm:request_success_total");
    if (!(requestsAfter > requestsBefore)) throw new Error("the local server answered no completion");
    result.checks.localServer = { url: localUrl, completions: requestsAfter - requestsBefore };
    say(`local server at ${localUrl}: ${requestsAfter - requestsBefore} completions, ghost text shown`);
  } catch (err) {
    const page = browser.pages()[0];
    if (page) await page.screenshot({ path: join(artifacts, "failure.png") }).catch(() => {});
    writeFileSync(join(artifacts, "code-server.log"), csLog.text);
    throw err;
  } finally {
    result.loadAverageAtEnd = loadavg().map((x) => +x.toFixed(2));
    writeFileSync(join(artifacts, "e2e-result.json"), JSON.stringify(result, null, 2) + "\n");
    await browser.close().catch(() => {});
  }
  rmSync(work, { recursive: true, force: true });
  return result;
}

let code = 0;
try {
  const r = await main();
  const rate = (s) => `${s.withGhostText}/${s.trials} with a suggestion`;
  const ms = (x) => (x == null ? "n/a" : `${x} ms`);
  say(`keystroke to ghost text: after a pause ${rate(r.latency)}, p50 ${ms(r.latency.p50Ms)}; end of a burst ${rate(r.latencyBurst)}, p50 ${ms(r.latencyBurst.p50Ms)}; load average ${r.loadAverage.join(" ")} -> ${r.loadAverageAtEnd.join(" ")}; artifacts in ${artifacts}`);
  if (r.bar.misses.length) {
    say(`FAIL: bar 5 missed: ${r.bar.misses.join("; ")}`);
    code = 1;
  } else say("PASS (bar 5 met)");
} catch (err) {
  say(`FAIL: ${err instanceof Error ? err.stack : err}`);
  code = 1;
} finally {
  await stopChildren();
}
process.exit(code);
