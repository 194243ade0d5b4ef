// The VS Code side: starts the Glimpse language server (which does the
// completing), owns settings, the API key (SecretStorage), the status bar and
// the commands, and can start a local `glimpse serve`. No telemetry: the only
// network traffic is to the configured Glimpse server, from the language server.

import { appendFileSync } from "node:fs";
import * as vscode from "vscode";
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from "vscode-languageclient/node";
import {
  CONFIGURE,
  DEFAULT_SETTINGS,
  STATS,
  STATUS,
  type CompletionStats,
  type GlimpseSettings,
  type ServerState,
  type StatusParams,
} from "../shared/protocol.js";
import { LocalServer } from "./local-server.js";

const SECRET_KEY = "glimpse.apiKey";

let client: LanguageClient | undefined;
let statusBar: vscode.StatusBarItem;
let output: vscode.LogOutputChannel;
const localServer = new LocalServer();
let last: StatusParams | undefined;
/** URL of the local server we started; overrides glimpse.serverUrl while it runs. */
let localUrl: string | undefined;

function log(line: string): void {
  output?.appendLine(`[${new Date().toISOString()}] ${line}`);
  // For end-to-end tests (and bug reports): a plain file log when asked for.
  const file = process.env.GLIMPSE_VSCODE_LOG;
  if (file) {
    try {
      appendFileSync(file, `${new Date().toISOString()} ${line}\n`);
    } catch {
      // a log must never break the extension
    }
  }
}

async function readSettings(context: vscode.ExtensionContext): Promise<GlimpseSettings> {
  const c = vscode.workspace.getConfiguration("glimpse");
  return {
    serverUrl: localUrl ?? c.get<string>("serverUrl", DEFAULT_SETTINGS.serverUrl),
    apiKey: (await context.secrets.get(SECRET_KEY)) ?? "",
    maxTokens: c.get<number>("maxTokens", DEFAULT_SETTINGS.maxTokens),
    debounceMs: c.get<number>("debounceMs", DEFAULT_SETTINGS.debounceMs),
    prefixChars: c.get<number>("context.prefixChars", DEFAULT_SETTINGS.prefixChars),
    suffixChars: c.get<number>("context.suffixChars", DEFAULT_SETTINGS.suffixChars),
    enabledLanguages: c.get<string[]>("enabledLanguages", DEFAULT_SETTINGS.enabledLanguages),
    enabled: c.get<boolean>("enable", true),
    workspaceContext: c.get<boolean>("workspaceContext", true),
    requestTimeoutMs: c.get<number>("requestTimeoutMs", DEFAULT_SETTINGS.requestTimeoutMs),
    model: c.get<string>("model", ""),
  };
}

function render(p: StatusParams | undefined): void {
  const state: ServerState = p?.state ?? "ready";
  const s = p?.stats;
  const icon = { ready: "$(sparkle)", working: "$(loading~spin)", offline: "$(debug-disconnect)", disabled: "$(circle-slash)" }[state];
  // State, then the last suggestion's latency and speed, and how much of the speculation was accepted.
  let figures = "";
  if (s?.lastLatencyMs != null && state !== "offline" && state !== "disabled") {
    figures = ` ${s.lastLatencyMs} ms`;
    if (s.lastTokensPerSecond != null) figures += ` · ${s.lastTokensPerSecond} tok/s`;
    if (s.draftTokens > 0) figures += ` · ${percent(s.acceptedDraftTokens, s.draftTokens)} drafts`;
  }
  statusBar.text = `${icon} Glimpse ${state}${figures}`;
  statusBar.tooltip = tooltip(state, p?.message, s);
  statusBar.backgroundColor = state === "offline" ? new vscode.ThemeColor("statusBarItem.warningBackground") : undefined;
}

function percent(a: number, b: number): string {
  return b > 0 ? `${((100 * a) / b).toFixed(0)}%` : "-";
}

function tooltip(state: ServerState, message: string | undefined, s: CompletionStats | undefined): string {
  const lines = [`Glimpse: ${state}${message ? ` (${message})` : ""}`];
  if (s) {
    if (s.lastLatencyMs != null) lines.push(`last suggestion: ${s.lastLatencyMs} ms, ${s.lastTokens ?? 0} tokens, ${s.lastTokensPerSecond ?? "-"} tokens/s`);
    lines.push(`speculation: ${percent(s.acceptedDraftTokens, s.draftTokens)} of drafted tokens accepted`);
    lines.push(`suggestions: ${s.accepted} accepted of ${s.shown} shown (${percent(s.accepted, s.shown)}), ${s.cacheHits} from cache`);
    lines.push(`workspace documents in the server's suffix context: ${s.contextDocuments}`);
  }
  lines.push("Click for statistics");
  return lines.join("\n");
}

function statisticsText(state: string, s: CompletionStats): string {
  return [
    `Glimpse (${state}) at ${localUrl ?? vscode.workspace.getConfiguration("glimpse").get("serverUrl")}`,
    `requests: ${s.requests}, from cache: ${s.cacheHits}, cancelled: ${s.cancelled}, errors: ${s.errors}`,
    `latency: last ${s.lastLatencyMs ?? "-"} ms, median ${s.p50LatencyMs ?? "-"} ms; last ${s.lastTokens ?? "-"} tokens at ${s.lastTokensPerSecond ?? "-"} tokens/s`,
    `speculation: ${s.acceptedDraftTokens} of ${s.draftTokens} drafted tokens accepted (${percent(s.acceptedDraftTokens, s.draftTokens)})`,
    `suggestions: ${s.accepted} accepted of ${s.shown} shown (${percent(s.accepted, s.shown)})`,
    `workspace documents in the suffix context: ${s.contextDocuments}`,
  ].join("\n");
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  const module = context.asAbsolutePath("dist/server.cjs");
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ["--nolazy", "--inspect=6019"] } },
  };
  const clientOptions: LanguageClientOptions = {
    // Every file: suggestions are filtered by glimpse.enabledLanguages in the server, and all
    // open documents feed the workspace context.
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    initializationOptions: await readSettings(context),
    outputChannel: output,
  };
  client = new LanguageClient("glimpse", "Glimpse", serverOptions, clientOptions);
  client.onNotification(STATUS, (p: StatusParams) => {
    last = p;
    render(p);
  });
  await client.start();
  log("language server started");
}

async function pushSettings(context: vscode.ExtensionContext): Promise<void> {
  if (client?.isRunning()) await client.sendNotification(CONFIGURE, await readSettings(context));
}

async function isReachable(url: string): Promise<boolean> {
  try {
    const r = await fetch(url.replace(/\/+$/, "").replace(/\/v1$/, "") + "/health", { signal: AbortSignal.timeout(2000) });
    return r.ok;
  } catch {
    return false;
  }
}

async function startLocal(context: vscode.ExtensionContext): Promise<void> {
  if (localServer.running) {
    void vscode.window.showInformationMessage(`Glimpse: the local server is already running at ${localServer.url}`);
    return;
  }
  const c = vscode.workspace.getConfiguration("glimpse");
  render({ state: "working", message: "starting the local server", stats: last?.stats ?? emptyStatsForUi() });
  try {
    const url = await localServer.start({
      cliPath: c.get<string>("localServer.cliPath", ""),
      modelDir: c.get<string>("localServer.modelDir", ""),
      speculativeConfig: c.get<string>("localServer.speculativeConfig", '{"method": "suffix"}'),
      searchRoots: [context.extensionPath, ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath)],
      log,
    });
    localUrl = url;
    log(`local server listening at ${url}`);
    await pushSettings(context);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log(`local server failed: ${message}`);
    void vscode.window.showErrorMessage(`Glimpse: ${message}`);
  }
  render(last);
}

function emptyStatsForUi(): CompletionStats {
  return {
    requests: 0, cacheHits: 0, cancelled: 0, errors: 0, shown: 0, accepted: 0, lastLatencyMs: null, lastTokens: null,
    lastTokensPerSecond: null, draftTokens: 0, acceptedDraftTokens: 0, p50LatencyMs: null, contextDocuments: 0,
  };
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Glimpse", { log: true });
  statusBar = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  statusBar.name = "Glimpse";
  statusBar.command = "glimpse.showStatistics";
  render(undefined);
  statusBar.show();
  context.subscriptions.push(output, statusBar);

  context.subscriptions.push(
    vscode.commands.registerCommand("glimpse.toggle", async () => {
      const c = vscode.workspace.getConfiguration("glimpse");
      await c.update("enable", !c.get<boolean>("enable", true), vscode.ConfigurationTarget.Global);
    }),
    vscode.commands.registerCommand("glimpse.showStatistics", async () => {
      if (!client?.isRunning()) return void vscode.window.showWarningMessage("Glimpse: the language server is not running");
      const r = (await client.sendRequest(STATS)) as { state: string; stats: CompletionStats };
      const text = statisticsText(r.state, r.stats);
      output.appendLine(text);
      output.show(true);
      const st = r.stats;
      void vscode.window.showInformationMessage(
        `Glimpse ${r.state}: ${st.requests} requests, median ${st.p50LatencyMs ?? "-"} ms, ${st.cacheHits} from cache; ` +
          `suggestions accepted ${st.accepted} of ${st.shown}; speculation ${percent(st.acceptedDraftTokens, st.draftTokens)} of drafted tokens accepted`,
      );
    }),
    vscode.commands.registerCommand("glimpse.restartServer", async () => {
      // Restarts the language server, and the local Glimpse server when this window started it.
      if (localServer.running) {
        localServer.stop();
        localUrl = undefined;
        await startLocal(context);
      }
      if (client) await client.stop().catch(() => {});
      await startClient(context);
    }),
    vscode.commands.registerCommand("glimpse.startLocalServer", () => startLocal(context)),
    vscode.commands.registerCommand("glimpse.setApiKey", async () => {
      const key = await vscode.window.showInputBox({ prompt: "API key of the Glimpse server (stored in VS Code's secret storage)", password: true, ignoreFocusOut: true });
      if (key === undefined) return;
      if (key) await context.secrets.store(SECRET_KEY, key);
      else await context.secrets.delete(SECRET_KEY);
    }),
    context.secrets.onDidChange((e) => {
      if (e.key === SECRET_KEY) void pushSettings(context);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("glimpse")) void pushSettings(context);
    }),
    { dispose: () => localServer.stop() },
  );

  const c = vscode.workspace.getConfiguration("glimpse");
  const serverUrl = c.get<string>("serverUrl", DEFAULT_SETTINGS.serverUrl);
  if (c.get<boolean>("startLocalServer", false) && !(await isReachable(serverUrl))) {
    log(`no Glimpse server at ${serverUrl}: starting a local one`);
    await startLocal(context);
  }
  await startClient(context);
  log(`activated (server ${localUrl ?? serverUrl})`);
}

export async function deactivate(): Promise<void> {
  localServer.stop();
  if (client) await client.stop().catch(() => {});
}
