// Where a JSON suggestion ends: a value (after `"key":`), a line (a member or
// an array element), or a balanced object/array when the line opens one. The
// model does not know where the user wants to stop; JSON's structure does.

export interface JsonContext {
  /** The cursor line's text before the cursor. */
  linePrefix: string;
  /** Everything after the cursor (within the budget). */
  suffix: string;
}

interface ScanState {
  inString: boolean;
  escaped: boolean;
}

/** String state at the cursor, from the line's text before it (JSON strings cannot span lines). */
function lineState(linePrefix: string): ScanState {
  const s: ScanState = { inString: false, escaped: false };
  for (const ch of linePrefix) step(s, ch);
  return s;
}

function step(s: ScanState, ch: string): void {
  if (s.inString) {
    if (s.escaped) s.escaped = false;
    else if (ch === "\\") s.escaped = true;
    else if (ch === '"') s.inString = false;
  } else if (ch === '"') {
    s.inString = true;
  }
}

/** True when the cursor is where a member's value goes (after the colon, or inside that value). */
export function inValuePosition(linePrefix: string): boolean {
  // Drop strings so that colons inside keys or values do not count.
  const bare = linePrefix.replace(/"(?:[^"\\]|\\.)*"?/g, '""');
  const colon = bare.lastIndexOf(":");
  if (colon < 0) return false;
  // A comma or bracket after the colon means the value is finished or nested.
  return !/[,{}[\]]/.test(bare.slice(colon + 1));
}

/** Cuts a completion for a JSON document; returns the part to show (maybe ""). */
export function stopJson(completion: string, ctx: JsonContext): string {
  const cut = cutJson(completion, ctx);
  // A whole member or element ends where another one follows: it needs its comma.
  const next = ctx.suffix.trimStart()[0];
  if (!inValuePosition(ctx.linePrefix) && /[}\]"\w]\s*$/.test(cut) && /\S/.test(cut) && (next === '"' || next === "{" || next === "[") && balanced(ctx.linePrefix + cut)) {
    return cut.replace(/\s*$/, ",");
  }
  return cut;
}

/** True when a line (with the completion) has no open string or bracket left. */
function balanced(line: string): boolean {
  const s: ScanState = { inString: false, escaped: false };
  let depth = 0;
  for (const ch of line) {
    const was = s.inString;
    step(s, ch);
    if (was || s.inString) continue;
    if (ch === "{" || ch === "[") depth++;
    if (ch === "}" || ch === "]") depth--;
  }
  return !s.inString && depth === 0;
}

function cutJson(completion: string, ctx: JsonContext): string {
  const s = lineState(ctx.linePrefix);
  const valueMode = inValuePosition(ctx.linePrefix);
  const suffixHasText = /\S/.test(ctx.suffix);
  let depth = 0; // brackets opened by the completion and not yet closed
  let content = false; // a non-whitespace character was emitted
  let valueStarted = valueMode && /:\s*\S/.test(ctx.linePrefix.replace(/"(?:[^"\\]|\\.)*"?$/, '"'));
  // In value mode, a value the user already started (a string, a number, true...) is part of the value.
  if (valueMode && s.inString) valueStarted = true;

  for (let i = 0; i < completion.length; i++) {
    const ch = completion[i];
    if (ch === "\n" && s.inString) {
      // JSON strings do not span lines: the model lost the structure; keep the line.
      return content ? completion.slice(0, i) : "";
    }
    const wasInString = s.inString;
    step(s, ch);
    if (wasInString) {
      content = true;
      // A value string just closed at depth 0: the value is complete.
      if (!s.inString && valueMode && depth === 0) return withComma(completion, i + 1, ctx.suffix);
      continue;
    }
    if (ch === "\n") {
      // One line at a time, unless the completion opened a bracket that is still open.
      if (content && depth <= 0) return completion.slice(0, i);
      if (valueMode && valueStarted && depth === 0) return completion.slice(0, i);
      // Right after `"key":` the value goes on the key's line: a line break first means the model skipped it.
      if (valueMode && depth === 0 && !content && /:\s*$/.test(ctx.linePrefix)) return "";
      continue;
    }
    if (ch === "{" || ch === "[") {
      depth++;
      content = true;
      valueStarted = true;
      continue;
    }
    if (ch === "}" || ch === "]") {
      if (depth === 0) {
        // Closes the enclosing container: the text after the cursor already does that.
        if (suffixHasText) return completion.slice(0, i);
        content = true;
        continue;
      }
      depth--;
      content = true;
      // A balanced object/array that was the value: done.
      if (depth === 0 && valueMode) return withComma(completion, i + 1, ctx.suffix);
      continue;
    }
    if (ch === ",") {
      if (depth === 0 && valueMode) return withComma(completion, i, ctx.suffix);
      content = true;
      continue;
    }
    if (/\S/.test(ch)) {
      content = true;
      if (valueMode && depth === 0) valueStarted = true;
    } else if (valueMode && valueStarted && depth === 0 && content && /[ \t]/.test(ch)) {
      // A bare value (number, true, null) ended at whitespace.
      return withComma(completion, i, ctx.suffix);
    }
  }
  return completion;
}

/**
 * The value ends at `end`; keep a comma written right after it unless the text
 * after the cursor begins with one (or closes the container, where a comma is invalid).
 */
function withComma(completion: string, end: number, suffix: string): string {
  const value = completion.slice(0, end);
  const rest = completion.slice(end);
  const next = suffix.trimStart()[0];
  if (rest.startsWith(",") && next !== "," && next !== "}" && next !== "]") return value + ",";
  return value;
}
