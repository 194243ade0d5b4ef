// Loading XGrammar's WebAssembly build (@mlc-ai/web-xgrammar) in Node.
//
// Its lib/index.js is a UMD bundle (it uses `require` and `__filename`)
// inside a package that says "type": "module", so `import` fails ("require
// is not defined in ES module scope") and so does `require` (Node then loads
// it as ES module). We evaluate the file as the CommonJS module it is: a
// Module of its own, with a `require` made by createRequire for its path.
// This works the same in the main thread and in a worker thread.
//
// Each call gives a separate instance (its own wasm memory): an XGrammar
// error aborts the wasm instance (its FATAL log, then a thrown RuntimeError)
// and leaves it unsafe to use (after a few dozen aborts it reads out of
// bounds), so inputs are tried on a throwaway instance first
// (grammar-compiler.ts). The bundle writes its log lines to `console`; we
// hand it a console of its own that keeps them, so errors carry XGrammar's
// message and nothing is printed.
//
// One line is added to the bundle: it exports its wasm binding, so a token
// mask can be read synchronously (the public getNextTokenBitmask is async
// only because it awaits the binding's first load). The decoding step reads
// masks while it walks a row's draft, a synchronous loop.

import { createRequire, Module } from "node:module";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";

export type XGrammar = typeof import("@mlc-ai/web-xgrammar");
export type { CompiledGrammar, GrammarCompiler, GrammarMatcher, TokenizerInfo } from "@mlc-ai/web-xgrammar";

/** What the bundle's wasm binding offers that its classes do not (a vector's memory as a typed array). */
export interface XGrammarBinding {
  vecIntToView(vector: WasmVector): Int32Array;
}

/** A std::vector<int32_t> in the wasm memory. */
export interface WasmVector {
  delete(): void;
}

export interface XGrammarInstance {
  readonly xg: XGrammar;
  /** The wasm binding, once loaded (after any awaited XGrammar call); null before. */
  binding(): XGrammarBinding | null;
  /** The lines XGrammar logged since the last call (FATAL and WARNING messages), and clears them. */
  takeLog(): string[];
}

/** Where the bundle keeps its binding; the export is added right after it. */
const BINDING_DECLARATION = "let binding = null;";

/** Lines kept at most between two takeLog calls. */
const MAX_LOG_LINES = 64;

let source: { file: string; text: string } | null = null;

/** The bundle's path and text (read once per thread). */
function bundle(): { file: string; text: string } {
  if (!source) {
    const file = createRequire(import.meta.url).resolve("@mlc-ai/web-xgrammar");
    source = { file, text: readFileSync(file, "utf8") };
  }
  return source;
}

/** A fresh XGrammar instance (its wasm starts on the first call that needs it). */
export function loadXGrammar(): XGrammarInstance {
  const { file, text } = bundle();
  const lines: string[] = [];
  const keep = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
    if (lines.length > MAX_LOG_LINES) lines.shift();
  };
  // `Module` as the CommonJS loader uses it: _compile wraps the text as a CommonJS function and runs it.
  const NodeModule = Module as unknown as {
    new (id: string): { filename: string; paths: string[]; exports: unknown; xgrammarConsole?: unknown; _compile(text: string, file: string): void };
    _nodeModulePaths(dir: string): string[];
  };
  const m = new NodeModule(file);
  m.filename = file;
  m.paths = NodeModule._nodeModulePaths(dirname(file));
  m.xgrammarConsole = { log: keep, info: keep, warn: keep, error: keep, debug: keep };
  if (!text.includes(BINDING_DECLARATION)) throw new Error(`${file} is not the @mlc-ai/web-xgrammar 0.1.27 bundle this loader reads (no "${BINDING_DECLARATION}")`);
  // Shadows the global console inside the bundle (same line: positions in stack traces stay right), and exports the binding.
  const patched = text.replace(BINDING_DECLARATION, `${BINDING_DECLARATION} exports.glimpseBinding = () => binding;`);
  m._compile(`var console = module.xgrammarConsole;${patched}`, file);
  const exported = m.exports as XGrammar & { glimpseBinding?: () => XGrammarBinding | null };
  if (typeof exported?.GrammarCompiler?.createGrammarCompiler !== "function" || typeof exported.glimpseBinding !== "function") {
    throw new Error(`${file} did not load as XGrammar (no GrammarCompiler or binding)`);
  }
  return { xg: exported, binding: exported.glimpseBinding, takeLog: () => lines.splice(0) };
}

/**
 * XGrammar's own message from the lines it logged: "[FATAL] file.cc:902:
 * Unsupported type ..." -> "Unsupported type ...", without the abort notice
 * and the "Check failed: (...) is false:" of its assertions.
 */
export function xgrammarMessage(lines: readonly string[], level: "FATAL" | "WARNING" = "FATAL"): string | null {
  const out: string[] = [];
  let inside = false;
  for (const line of lines) {
    const head = /^\[(\w+)\]\s+\S+?:\d+:\s?(.*)$/s.exec(line);
    if (head) {
      inside = head[1] === level;
      if (inside) out.push(head[2].replace(/^Check failed: .*? is false: ?/s, ""));
    } else if (inside && !line.startsWith("Aborted(")) out.push(line);
  }
  return out.length > 0 ? out.join("\n").trim() : null;
}
