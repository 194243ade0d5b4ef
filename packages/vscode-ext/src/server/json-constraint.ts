// Which completions the server constrains to JSON: in a `.json` document the
// whole text before the cursor goes with the request as `json_prefix`, and the
// server keeps that text plus the completion a valid JSON prefix. JSON with
// comments (jsonc: tsconfig.json, settings.json) and JSON Lines are not JSON
// documents, and a very large document is not sent twice per keystroke.

/** Text before the cursor above this many characters: unconstrained (the server would re-read it all per request). */
export const JSON_PREFIX_MAX_CHARS = 200_000;

/** The `json_prefix` for a completion at `offset`, or undefined when the document is not constrained. */
export function jsonPrefixFor(languageId: string, text: string, offset: number): string | undefined {
  if (languageId !== "json" || offset > JSON_PREFIX_MAX_CHARS) return undefined;
  return text.slice(0, offset);
}
