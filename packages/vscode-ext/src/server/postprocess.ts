// From the model's raw text to the suggestion shown: the line policy, JSON
// stopping, and dropping what only repeats the text after the cursor.

import { indentOf, type ContextWindow } from "./context-window.js";
import { stopJson } from "./json-stopping.js";

const JSON_LANGUAGES = new Set(["json", "jsonc", "jsonl"]);

/** Stop strings sent to the server (it stops early; the cut here is exact). */
export function stopsFor(ctx: ContextWindow, languageId: string): string[] {
  if (!ctx.multiline && !JSON_LANGUAGES.has(languageId)) return ["\n"];
  return ["\n\n\n"];
}

export function postprocess(raw: string, ctx: ContextWindow, languageId: string): string {
  let text = stripRetypedLine(raw.replace(/\r\n/g, "\n"), ctx.linePrefix);
  if (JSON_LANGUAGES.has(languageId)) text = stopJson(text, { linePrefix: ctx.linePrefix, suffix: ctx.suffix });
  else text = ctx.multiline ? limitBlock(text, ctx) : firstLine(text);
  text = text.replace(/\s+$/, "");
  // Nothing but whitespace is no suggestion.
  if (!/\S/.test(text)) return "";
  text = dropSuffixOverlap(text, ctx);
  if (!/\S/.test(text)) return "";
  return text;
}

/** The request for the next line (see nextLineSuggestion): the same context, stopped at a blank line, a line's worth of tokens. */
export const NEXT_LINE_STOP = ["\n\n"];
export const NEXT_LINE_MAX_TOKENS = 32;

/**
 * The model ended the line at once (an empty answer with the cursor at the end
 * of a line that has text): the suggestion becomes the line after it, shown
 * below the cursor, as editors do at the end of a finished line. Not for text
 * after the cursor (the suggestion would split the line), multi-line contexts
 * (their answer already spans lines), JSON (its own stopping rules), or an answer with text.
 */
export function wantsNextLine(raw: string, ctx: ContextWindow, languageId: string): boolean {
  return !/\S/.test(raw) && !ctx.multiline && ctx.lineSuffix === "" && ctx.linePrefix.trim() !== "" && !JSON_LANGUAGES.has(languageId);
}

/**
 * The suggestion from the model's continuation of the same context without the
 * newline stop (NEXT_LINE_STOP): blanks to the end of this line, a newline, then
 * the next line, post-processed as a line of its own. "" for none.
 */
export function nextLineSuggestion(raw: string, ctx: ContextWindow, languageId: string): string {
  const m = /^[ \t]*\r?\n([^\n]*)/.exec(raw);
  if (!m) return "";
  const next: ContextWindow = { prefix: ctx.prefix + "\n", suffix: ctx.suffix, linePrefix: "", lineSuffix: "", multiline: false };
  const line = postprocess(m[1], next, languageId);
  return line ? "\n" + line : "";
}

/**
 * Small models trained on whole-line fill-in-the-middle often answer a mid-line
 * cursor with the whole line, repeating what is already typed
 * (`"test": ` -> `"test": "vitest run"`). Drop the repeated part.
 */
function stripRetypedLine(text: string, linePrefix: string): string {
  const typed = linePrefix.trimStart();
  if (!typed) return text;
  const lead = /^[ \t]*/.exec(text)![0];
  return text.startsWith(typed, lead.length) ? text.slice(lead.length + typed.length) : text;
}

function firstLine(text: string): string {
  const nl = text.indexOf("\n");
  return nl < 0 ? text : text.slice(0, nl);
}

/**
 * Multi-line: keep the block the cursor is in. Stop at the first line indented
 * less than the block's body (the block ended), at two blank lines in a row, or after 16 lines.
 */
function limitBlock(text: string, ctx: ContextWindow): string {
  const lines = text.split("\n");
  const cursorIndent = indentOf(ctx.linePrefix);
  const opener = ctx.linePrefix.trim() !== "";
  // Body lines of a block opened on the cursor line are deeper than it; on an empty line they are as deep as the cursor.
  const bodyIndent = opener ? cursorIndent + 1 : cursorIndent;
  const nextLine = ctx.suffix.split("\n").find((l) => l.trim() !== "") ?? "";
  const out: string[] = [lines[0]];
  let blanks = 0;
  for (let i = 1; i < lines.length && out.length < 16; i++) {
    const line = lines[i];
    if (line.trim() === "") {
      if (++blanks >= 2) break;
      out.push(line);
      continue;
    }
    blanks = 0;
    const indent = indentOf(line);
    if (indent < bodyIndent) {
      // The line that closes the block opened on the cursor line: keep it, unless the text after the cursor already closes it.
      if (opener && indent === cursorIndent && /^[)\]}]/.test(line.trim()) && !(indentOf(nextLine) === cursorIndent && /^[)\]}]/.test(nextLine.trim()))) {
        out.push(line);
      }
      break;
    }
    out.push(line);
  }
  return out.join("\n");
}

/**
 * Drops a suggestion that only repeats what follows the cursor, and trims its
 * end where it overlaps the start of the text after the cursor (`foo(|)` with
 * "a, b)" becomes "a, b": the ")" is already there).
 */
function dropSuffixOverlap(text: string, ctx: ContextWindow): string {
  const suffixStart = ctx.suffix.trimStart();
  const t = text.trim();
  if (t && suffixStart.startsWith(t)) return "";
  const rest = ctx.lineSuffix;
  if (rest.trim()) {
    if (rest.startsWith(text) || rest.trim().startsWith(t)) return "";
    // Only closers and punctuation (auto-inserted by the editor), so a word that merely ends alike is kept.
    for (let k = Math.min(rest.length, text.length); k > 0; k--) {
      const head = rest.slice(0, k);
      if (/^[)\]}'"`;,.:\s]+$/.test(head) && text.endsWith(head)) return text.slice(0, text.length - k);
    }
  }
  if (text.includes("\n")) {
    // Trailing lines equal to the first lines after the cursor: already there.
    const lines = text.split("\n");
    const after = ctx.suffix.split("\n").filter((l) => l.trim() !== "");
    let cut = lines.length;
    for (let n = Math.min(lines.length - 1, after.length); n > 0; n--) {
      const tail = lines.slice(lines.length - n).map((l) => l.trim());
      if (tail.every((l, i) => l === after[i].trim())) {
        cut = lines.length - n;
        break;
      }
    }
    return lines.slice(0, cut).join("\n");
  }
  return text;
}
