// The Glimpse language server: LSP 3.18 textDocument/inlineCompletion over
// stdio (or node-ipc), answered by a Glimpse server's /v1/completions. Any LSP
// client can start it: `node dist/server.cjs --stdio`, settings in
// initializationOptions (see GlimpseSettings).

import { appendFileSync } from "node:fs";
import {
  createConnection,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type InitializeResult,
  type InlineCompletionItem,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import {
  ACCEPTED,
  ACCEPTED_COMMAND,
  CONFIGURE,
  DEFAULT_SETTINGS,
  STATS,
  STATUS,
  type AcceptedParams,
  type ConfigureParams,
  type GlimpseSettings,
} from "../shared/protocol.js";
import { InlineCompletionEngine } from "./inline-completion.js";
import { Status } from "./status.js";
import { WorkspaceContext } from "./workspace-context.js";

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);

let settings: GlimpseSettings = { ...DEFAULT_SETTINGS };
const status = new Status((p) => void connection.sendNotification(STATUS, p).catch(() => {}));
const engine = new InlineCompletionEngine(settings, status);
const workspace = new WorkspaceContext(() => engine.glimpse, {}, () => {});
let probeTimer: NodeJS.Timeout | undefined;

// GLIMPSE_LSP_TRACE=file: one JSON line per suggestion served (end-to-end tests, debugging). Off by default.
const traceFile = process.env.GLIMPSE_LSP_TRACE;
const trace = traceFile
  ? (entry: Record<string, unknown>) => {
      try {
        appendFileSync(traceFile, JSON.stringify({ t: Date.now(), ...entry }) + "\n");
      } catch {
        // tracing must never break completions
      }
    }
  : undefined;

engine.onTrace = trace && ((e) => trace({ ...e }));

function applySettings(patch: ConfigureParams | undefined): void {
  const wasSyncing = settings.workspaceContext;
  settings = sanitize({ ...settings, ...(patch ?? {}) });
  engine.configure(settings);
  workspace.setEnabled(settings.workspaceContext);
  // Turned back on: send the open documents again (they were removed when it was turned off).
  if (settings.workspaceContext && !wasSyncing) workspace.resyncAll((uri) => documents.get(uri)?.getText());
}

/** Settings arrive from any client: clamp them to something that works. */
function sanitize(s: GlimpseSettings): GlimpseSettings {
  const int = (v: unknown, d: number, min: number, max: number) =>
    typeof v === "number" && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : d;
  return {
    serverUrl: typeof s.serverUrl === "string" && s.serverUrl ? s.serverUrl : DEFAULT_SETTINGS.serverUrl,
    apiKey: typeof s.apiKey === "string" ? s.apiKey : "",
    maxTokens: int(s.maxTokens, DEFAULT_SETTINGS.maxTokens, 1, 2048),
    debounceMs: int(s.debounceMs, DEFAULT_SETTINGS.debounceMs, 0, 5000),
    prefixChars: int(s.prefixChars, DEFAULT_SETTINGS.prefixChars, 16, 200_000),
    suffixChars: int(s.suffixChars, DEFAULT_SETTINGS.suffixChars, 0, 200_000),
    enabledLanguages: Array.isArray(s.enabledLanguages) ? s.enabledLanguages.filter((l) => typeof l === "string") : [],
    enabled: s.enabled !== false,
    workspaceContext: s.workspaceContext !== false,
    requestTimeoutMs: int(s.requestTimeoutMs, DEFAULT_SETTINGS.requestTimeoutMs, 100, 600_000),
    model: typeof s.model === "string" ? s.model : "",
  };
}

// While offline, a health probe on a back-off timer brings the server back (no completion requests meanwhile).
function scheduleProbe(): void {
  if (probeTimer) return;
  probeTimer = setTimeout(async () => {
    probeTimer = undefined;
    if (status.current !== "offline") return;
    if (!(await engine.probe())) scheduleProbe();
  }, status.retryInMs + 10);
}

engine.onOfflineMessage = (message) => {
  connection.console.warn(`Glimpse server offline: ${message}; retrying in the background`);
};
engine.onBackOnline = () => {
  connection.console.info(`Glimpse server back at ${settings.serverUrl}`);
  workspace.resyncAll((uri) => documents.get(uri)?.getText());
};
const sink = status.notify.bind(status);
status.notify = () => {
  status.stats.contextDocuments = workspace.documentCount;
  sink();
  if (status.current === "offline") scheduleProbe();
};

connection.onInitialize((params): InitializeResult => {
  applySettings(params.initializationOptions as ConfigureParams | undefined);
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      inlineCompletionProvider: true,
      // The command each suggestion carries: the editor runs it on accept (any LSP client can).
      executeCommandProvider: { commands: [ACCEPTED_COMMAND] },
    },
    serverInfo: { name: "glimpse-language-server", version: "0.1.0" },
  };
});

connection.onInitialized(() => {
  // Tell the client where things stand, and find out early whether the server is there.
  void engine.probe().then(() => status.notify());
});

connection.onNotification(CONFIGURE, (p: ConfigureParams) => {
  const urlChanged = p.serverUrl !== undefined && p.serverUrl !== settings.serverUrl;
  applySettings(p);
  if (urlChanged) {
    workspace.resyncAll((uri) => documents.get(uri)?.getText());
    void engine.probe();
  }
});

connection.onRequest(STATS, () => ({ state: status.current, stats: { ...status.stats, contextDocuments: workspace.documentCount } }));

connection.onNotification(ACCEPTED, (p: AcceptedParams) => engine.accepted(p.id));
connection.onExecuteCommand((p) => {
  if (p.command === ACCEPTED_COMMAND && typeof p.arguments?.[0] === "string") engine.accepted(p.arguments[0]);
});

connection.languages.inlineCompletion.on(async (params, token) => {
  const start = Date.now();
  const doc = documents.get(params.textDocument.uri);
  if (!doc) return null;
  const offset = doc.offsetAt(params.position);
  const edits = editTimes.get(doc.uri);
  const editIntervalMs = edits && edits.previous > 0 ? edits.last - edits.previous : undefined;
  const msSinceEdit = edits ? start - edits.last : undefined;
  trace?.({ event: "request", uri: doc.uri, version: doc.version, offset, editIntervalMs, msSinceEdit, line: doc.getText().slice(Math.max(0, offset - 40), offset) });
  const suggestion = await engine.provide({ uri: doc.uri, languageId: doc.languageId, text: doc.getText(), offset, editIntervalMs, msSinceEdit }, token);
  if (!suggestion) trace?.({ event: "none", start, uri: doc.uri, version: doc.version, offset, editorCancelled: token.isCancellationRequested });
  if (suggestion && trace) trace({ start, uri: doc.uri, version: doc.version, offset, source: suggestion.source, text: suggestion.text });
  if (!suggestion || token.isCancellationRequested) return null;
  const item: InlineCompletionItem = {
    insertText: suggestion.text,
    range: { start: params.position, end: params.position },
    command: { title: "Glimpse: accepted", command: ACCEPTED_COMMAND, arguments: [suggestion.id] },
  };
  return { items: [item] };
});

documents.onDidOpen((e) => {
  if (engine.languageEnabled(e.document.languageId)) workspace.opened(e.document.uri, () => e.document.getText());
});
/** When each document was last edited, and the time before: typing speed, for the debounce. */
const editTimes = new Map<string, { last: number; previous: number }>();
documents.onDidChangeContent((e) => {
  const t = editTimes.get(e.document.uri);
  editTimes.set(e.document.uri, { last: Date.now(), previous: t?.last ?? 0 });
  if (engine.languageEnabled(e.document.languageId)) workspace.changed(e.document.uri, () => e.document.getText());
});
documents.onDidClose((e) => {
  editTimes.delete(e.document.uri);
  workspace.closed(e.document.uri);
});

connection.onShutdown(async () => {
  if (probeTimer) clearTimeout(probeTimer);
  // Leave the shared server as we found it.
  await workspace.clear();
});

documents.listen(connection);
connection.listen();
