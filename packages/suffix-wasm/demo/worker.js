// The demo's suffix cache, in a Web Worker (where the embedded wasm module
// may be compiled synchronously). Messages in: { id, documents: number[][],
// context: number[] }; out: { id, draft: { tokenIds, probs, score, matchLen } }.
import { SuffixDecodingCache } from "../dist/index.js";

let cache;
let indexed = "";

self.onmessage = ({ data }) => {
  const { id, documents, context } = data;
  // Re-index only when the earlier text changed.
  const key = JSON.stringify(documents);
  if (key !== indexed) {
    cache?.dispose();
    cache = new SuffixDecodingCache({ maxTreeDepth: 64 });
    documents.forEach((doc, i) => {
      cache.startRequest(`doc-${i}`, []);
      cache.addActiveResponse(`doc-${i}`, doc);
      cache.stopRequest(`doc-${i}`);
    });
    indexed = key;
  }
  // What you typed is the request's prompt: its own tree holds it, the
  // global tree (the earlier text) does not.
  cache.startRequest("typing", context);
  const d = cache.speculate("typing", context, { maxSpecTokens: 24, maxSpecFactor: 4, minTokenProb: 0.1 });
  cache.stopRequest("typing");
  cache.evictCachedResponse("typing");
  self.postMessage({ id, draft: { tokenIds: Array.from(d.tokenIds), probs: Array.from(d.probs), score: d.score, matchLen: d.matchLen } });
};
