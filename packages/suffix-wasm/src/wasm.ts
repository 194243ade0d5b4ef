// `@glimpse/suffix-wasm/wasm`: the raw WebAssembly binary, for loading it
// yourself (your own fetch, cache or bundler). Pass either to
// `loadSuffixRuntime({ bytes })` / `loadSuffixRuntime({ url })`.

export { embeddedWasmBytes as wasmBytes } from "./base64.js";

/**
 * Where `suffix_tree.wasm` lies in the installed package: a `file:` URL in
 * Node, the served URL in a browser. Bundlers that understand
 * `new URL(..., import.meta.url)` copy the file and rewrite this.
 * (Node's `fetch` does not read `file:` URLs: in Node use `wasmBytes()` or
 * `readFile(wasmUrl)`.)
 */
export const wasmUrl: URL = new URL("../build/suffix_tree.wasm", import.meta.url);
