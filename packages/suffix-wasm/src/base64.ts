// The wasm binary embedded in this package (base64, so that every loader,
// CommonJS included, gets it without file or network access).
import { WASM_BASE64 } from "./generated/wasm-base64.js";

/** A fresh copy of the embedded `suffix_tree.wasm` bytes. */
export function embeddedWasmBytes(): Uint8Array {
  // atob exists in Node >= 16 and every browser.
  const bin = atob(WASM_BASE64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
