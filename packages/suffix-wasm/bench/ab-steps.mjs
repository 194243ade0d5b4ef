// Two builds of this package replayed in lockstep on the shared traces
// (first 150 rows, default configuration): at every step both builds
// speculate and update (in alternating order), each call timed on its own.
// Each step's time is the minimum over the runs, so a step that lost its core
// to another process in one run counts its undisturbed time; B/A is then the
// ratio of the sums. (It replaced compare-builds.mjs, whose update figure was
// the difference of two long replays' CPU times: too noisy on a loaded machine.)
//   node bench/ab-steps.mjs OLD_DIST_DIR [NEW_DIST_DIR=dist] [runs=5] [traces=codegen,sql,chat,agentic]
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { readTrace } from "./traces.mjs";

const [aDir, bDir = "dist", runsArg = "5", tracesArg = "codegen,sql,chat,agentic"] = process.argv.slice(2);
if (!aDir) {
  console.error("usage: node bench/ab-steps.mjs OLD_DIST_DIR [NEW_DIST_DIR=dist] [runs=5] [traces]");
  process.exit(2);
}
const load = async (dir) => import(pathToFileURL(resolve(dir, "index.js")).href);
const libs = [await load(aDir), await load(bDir)];
const runs = Number(runsArg);
const f = (x) => x.toFixed(2);
const opts = { maxSpecTokens: 64, maxSpecFactor: 1, maxSpecOffset: 0, minTokenProb: 0.1, useTreeSpec: false };

// One lockstep replay; adds each step's times into spec[b][k] / upd[b][k] as minima.
function replay(rows, produced, spec, upd, first) {
  const caches = libs.map((lib) => new lib.SuffixDecodingCache({ maxTreeDepth: 64, maxCachedRequests: -1 }));
  let k = 0;
  rows.forEach((row, id) => {
    const full = new Int32Array(row.prompt.length + row.response.length);
    full.set(row.prompt);
    full.set(row.response, row.prompt.length);
    for (const c of caches) c.startRequest(id, row.prompt);
    for (let pos = 0; pos < row.response.length; k++) {
      const n = produced[k];
      const ctx = full.subarray(0, row.prompt.length + pos);
      const chunk = row.response.subarray(pos, pos + n);
      for (let j = 0; j < 2; j++) {
        const b = (k + j) & 1;
        const t0 = performance.now();
        caches[b].speculate(id, ctx, opts);
        const t = performance.now() - t0;
        if (first || t < spec[b][k]) spec[b][k] = t;
      }
      for (let j = 0; j < 2; j++) {
        const b = (k + j + 1) & 1;
        const t0 = performance.now();
        caches[b].addActiveResponse(id, chunk);
        const t = performance.now() - t0;
        if (first || t < upd[b][k]) upd[b][k] = t;
      }
      pos += n;
    }
    for (const c of caches) c.stopRequest(id);
  });
  for (const c of caches) c.dispose();
}

console.log(`A = ${aDir}, B = ${bDir}; lockstep, per-step minimum over ${runs} runs after a warm-up; load average ${loadavg().map(f).join(" ")}`);
console.log("| trace | steps | A spec + upd us/step | B spec + upd us/step | B/A speculate | B/A update | B/A total |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const trace of tracesArg.split(",")) {
  const rows = readTrace(trace, 150);
  const produced = [];
  libs[0].simulate(rows, undefined, (r) => produced.push(r.numAccepted + 1));
  // The bonus token is cut at the end of a response.
  let k = 0;
  for (const row of rows) {
    for (let pos = 0; pos < row.response.length; k++) {
      produced[k] = Math.min(produced[k], row.response.length - pos);
      pos += produced[k];
    }
  }
  const steps = produced.length;
  const spec = [new Float64Array(steps), new Float64Array(steps)];
  const upd = [new Float64Array(steps), new Float64Array(steps)];
  replay(rows, produced, spec, upd, true); // warm-up
  for (let i = 0; i < runs; i++) replay(rows, produced, spec, upd, i === 0);
  const us = (a) => (a.reduce((s, x) => s + x, 0) * 1000) / steps;
  const [sA, sB, uA, uB] = [us(spec[0]), us(spec[1]), us(upd[0]), us(upd[1])];
  console.log(`| ${trace} | ${steps} | ${f(sA)} + ${f(uA)} = ${f(sA + uA)} | ${f(sB)} + ${f(uB)} = ${f(sB + uB)} | ` +
    `${f(sB / sA)} | ${f(uB / uA)} | ${f((sB + uB) / (sA + uA))} |`);
}
console.log(`load average at the end ${loadavg().map(f).join(" ")}`);
