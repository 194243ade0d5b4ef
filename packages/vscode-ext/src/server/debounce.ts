// How long a completion request waits before going to the server. After a
// pause in typing it goes at once (the editor has waited already). While the
// user types, a request for a context about to change is wasted, so it waits
// for the next key: as long as the typist's own rhythm says one may still
// come (one and a half times the last interval between keys), at most the
// debounce setting. A fast burst (keys 60 ms apart, as the language server
// sees a Playwright burst of 40 ms) thus waits 90 ms after its last key, not
// the whole debounce; the server's prompt cache keeps the wasted requests of
// a misjudged pause cheap (they share the file up to the cursor).

/** A burst's request waits at least this long after its key (key repeat, macros). */
export const MIN_BURST_WAIT_MS = 50;
/** A burst is taken as over when no key came in this many of its last intervals. */
export const BURST_GAP_FACTOR = 1.5;

/**
 * Milliseconds to wait from the request's arrival. `editIntervalMs`: between
 * the last two edits (undefined: unknown); `msSinceEdit`: since the last one.
 */
export function debounceWait(debounceMs: number, editIntervalMs: number | undefined, msSinceEdit: number | undefined): number {
  if (debounceMs <= 0 || (editIntervalMs !== undefined && editIntervalMs >= debounceMs)) return 0;
  const fromKey = editIntervalMs === undefined ? debounceMs : Math.min(debounceMs, Math.max(MIN_BURST_WAIT_MS, BURST_GAP_FACTOR * editIntervalMs));
  return Math.max(0, fromKey - Math.max(0, msSinceEdit ?? 0));
}
