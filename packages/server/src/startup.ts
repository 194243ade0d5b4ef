// What `glimpse serve` checks before it spends seconds loading a model (a
// busy port, an empty API key), and what it says once loaded.

import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import type { SpeculativeConfig } from "@glimpse/runtime-cuda";

/** This package's version (`glimpse --version`). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** `GLIMPSE_API_KEY=""` must not quietly mean "no authentication". */
export function checkApiKey(key: string | undefined): void {
  if (key !== undefined && key.trim() === "") {
    throw new Error("--api-key / GLIMPSE_API_KEY is set but empty; give a key, or unset GLIMPSE_API_KEY to serve without one");
  }
}

/** Binds and releases host:port, so that a busy port is reported before the model loads. */
export async function probePort(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "is already in use (another server? pick one with --port or PORT)" : `cannot be bound (${err.code ?? err.message})`;
      reject(new Error(`${host}:${port} ${why}`));
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/**
 * The speculation actually running, for the startup log: the parsed config
 * keeps `enableSuffixDecoding: false` under method "suffix" (the flag only
 * adds suffix decoding to a speculator), which reads as "suffix off".
 */
export function describeSpeculation(spec: SpeculativeConfig | null, hasSuffix: boolean) {
  if (!spec) return { method: "none (plain decoding)" };
  const suffix = hasSuffix
    ? { max_depth: spec.suffixMaxDepth, max_spec_factor: spec.suffixMaxSpecFactor, max_spec_offset: spec.suffixMaxSpecOffset, min_token_prob: spec.suffixMinTokenProb, max_cached_requests: spec.suffixMaxCachedRequests, tree_spec: spec.suffixUseTreeSpec }
    : false;
  return {
    method: spec.method,
    ...(spec.model ? { model: spec.model } : {}),
    num_speculative_tokens: spec.numSpeculativeTokens ?? "the speculator's n_predict",
    suffix_decoding: suffix,
    ...(spec.method === "ngram" ? { prompt_lookup: { min: spec.promptLookupMin, max: spec.promptLookupMax } } : {}),
  };
}
