// Run: node examples/quickstart.mjs   (after `npm run build` in this package)
import { SuffixDecodingCache } from "@glimpse/suffix-wasm";

const cache = new SuffixDecodingCache({ maxTreeDepth: 64, maxCachedRequests: 1000 });

// An earlier request taught the global tree a response.
cache.startRequest("req-1", [101, 102, 103]);
cache.addActiveResponse("req-1", [7, 8, 9, 10, 11, 12]);
cache.stopRequest("req-1");

// A new request whose output starts repeating it gets a draft for the rest.
cache.startRequest("req-2", [201, 202]);
cache.addActiveResponse("req-2", [7, 8, 9]);
const draft = cache.speculate("req-2", [201, 202, 7, 8, 9], { maxSpecFactor: 2, minTokenProb: 0.1 });
console.log("draft tokens:", Array.from(draft.tokenIds)); // [ 10, 11, 12 ]
// 0.5 each: [7, 8, 9] occurs twice in the global tree (req-2 is cached too) and
// only req-1 continues it.
console.log("probabilities:", Array.from(draft.probs), "score:", draft.score, "match length:", draft.matchLen);

cache.stopRequest("req-2");
cache.dispose();
