// What goes to the server for one cursor position: the text before the cursor
// (`prompt`) and after it (`suffix`), each cut to a character budget at a line
// boundary, and whether the suggestion may span several lines.

export interface ContextWindow {
  /** Text before the cursor, at most prefixChars, starting at a line start where possible. */
  prefix: string;
  /** Text after the cursor, at most suffixChars, ending at a line end where possible. */
  suffix: string;
  /** The cursor line's text before and after the cursor. */
  linePrefix: string;
  lineSuffix: string;
  multiline: boolean;
}

export function contextWindow(text: string, offset: number, prefixChars: number, suffixChars: number): ContextWindow {
  const before = text.slice(0, offset);
  const after = text.slice(offset);
  let prefix = before;
  if (prefix.length > prefixChars) {
    prefix = before.slice(before.length - prefixChars);
    // Start at a whole line (the model sees no half-token at the start) unless that loses most of the budget.
    const nl = prefix.indexOf("\n");
    if (nl >= 0 && nl < prefixChars / 2) prefix = prefix.slice(nl + 1);
  }
  let suffix = after;
  if (suffix.length > suffixChars) {
    suffix = after.slice(0, suffixChars);
    const nl = suffix.lastIndexOf("\n");
    if (nl > suffixChars / 2) suffix = suffix.slice(0, nl + 1);
  }
  const lineStart = before.lastIndexOf("\n") + 1;
  const lineEndRel = after.indexOf("\n");
  const linePrefix = before.slice(lineStart);
  const lineSuffix = lineEndRel < 0 ? after : after.slice(0, lineEndRel);
  return { prefix, suffix, linePrefix, lineSuffix, multiline: wantsMultiline(linePrefix, lineSuffix) };
}

/**
 * Multi-line when the cursor starts a block or sits on an empty line; a single
 * line when there is code after the cursor on its line or the line is half
 * written (what Copilot, Tabby and llama.vscode do in spirit).
 */
export function wantsMultiline(linePrefix: string, lineSuffix: string): boolean {
  // Text after the cursor (other than closing brackets and punctuation the editor auto-inserted) means: finish this line.
  if (/[^\s)\]}'"`;,]/.test(lineSuffix)) return false;
  const trimmed = linePrefix.trimEnd();
  if (trimmed === "") return true;
  // After an opener: a block, an object literal, a call's arguments, an arrow body.
  return /(\{|\[|\(|=>|:)$/.test(trimmed);
}

export function indentOf(line: string): number {
  const m = /^[ \t]*/.exec(line);
  return m ? m[0].replace(/\t/g, "    ").length : 0;
}
