// Two builds of this package in one process, runs interleaved (A, B, A, B,
// ...), so machine load hits both alike: per-step speculate and update time
// of each on the shared traces (first 150 rows, default configuration), the
// minimum and median over the runs, and B's time over A's.
//   node bench/compare-builds.mjs OLD_DIST_DIR [NEW_DIST_DIR=dist] [runs=7] [traces=codegen,sql,chat,agentic]
// e.g. copy dist/ aside before a change (cp -r dist /tmp/dist-old), rebuild, then
//   node bench/compare-builds.mjs /tmp/dist-old
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { readTrace } from "./traces.mjs";

const [aDir, bDir = "dist", runsArg = "7", tracesArg = "codegen,sql,chat,agentic"] = process.argv.slice(2);
if (!aDir) {
  console.error("usage: node bench/compare-builds.mjs OLD_DIST_DIR [NEW_DIST_DIR=dist] [runs=7] [traces]");
  process.exit(2);
}
const load = async (dir) => import(pathToFileURL(resolve(dir, "index.js")).href);
const builds = { A: await load(aDir), B: await load(bDir) };
const runs = Number(runsArg);
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const f = (x) => x.toFixed(2);

// CPU time (process.cpuUsage: user + system) of whole replays, not wall
// time per call: on a loaded machine the time spent waiting for a core is
// then left out. Three replays of the same steps: starts and stops only (S0),
// plus updates (U), plus speculation (SU); update = U - S0, speculate = SU - U.
function cpuMs(fn) {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
}

function replay(lib, rows, produced, withUpdate, withSpeculate) {
  const cache = new lib.SuffixDecodingCache({ maxTreeDepth: 64, maxCachedRequests: -1 });
  const opts = { maxSpecTokens: 64, maxSpecFactor: 1, maxSpecOffset: 0, minTokenProb: 0.1, useTreeSpec: false };
  let k = 0;
  rows.forEach((row, id) => {
    const full = new Int32Array(row.prompt.length + row.response.length);
    full.set(row.prompt);
    full.set(row.response, row.prompt.length);
    cache.startRequest(id, row.prompt);
    for (let pos = 0; pos < row.response.length;) {
      const n = produced[k++];
      if (withSpeculate) cache.speculate(id, full.subarray(0, row.prompt.length + pos), opts);
      if (withUpdate) cache.addActiveResponse(id, row.response.subarray(pos, pos + n));
      pos += n;
    }
    cache.stopRequest(id);
  });
  cache.dispose();
}

console.log(`A = ${aDir}, B = ${bDir}; ${runs} interleaved runs after a warm-up, CPU time; load average ${loadavg().map(f).join(" ")}`);
console.log("| trace | steps | A spec + upd us/step (median) | B spec + upd us/step (median) | B/A speculate | B/A update | B/A total |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const trace of tracesArg.split(",")) {
  const rows = readTrace(trace, 150);
  const produced = [];
  builds.A.simulate(rows, undefined, (r) => produced.push(r.numAccepted + 1));
  // The bonus token is cut at the end of a response.
  let k = 0;
  for (const row of rows) {
    for (let pos = 0; pos < row.response.length; k++) {
      produced[k] = Math.min(produced[k], row.response.length - pos);
      pos += produced[k];
    }
  }
  const steps = produced.length;
  const times = { A: { s0: [], u: [], su: [] }, B: { s0: [], u: [], su: [] } };
  for (const name of ["A", "B"]) replay(builds[name], rows, produced, true, true);
  for (let i = 0; i < runs; i++) {
    for (const name of i % 2 === 0 ? ["A", "B"] : ["B", "A"]) {
      const lib = builds[name];
      times[name].s0.push(cpuMs(() => replay(lib, rows, produced, false, false)));
      times[name].u.push(cpuMs(() => replay(lib, rows, produced, true, false)));
      times[name].su.push(cpuMs(() => replay(lib, rows, produced, true, true)));
    }
  }
  const per = (t) => {
    const s0 = median(t.s0);
    const u = median(t.u);
    const su = median(t.su);
    return { spec: ((su - u) * 1000) / steps, upd: ((u - s0) * 1000) / steps };
  };
  const A = per(times.A);
  const B = per(times.B);
  console.log(`| ${trace} | ${steps} | ${f(A.spec)} + ${f(A.upd)} = ${f(A.spec + A.upd)} | ${f(B.spec)} + ${f(B.upd)} = ${f(B.spec + B.upd)} | ` +
    `${f(B.spec / A.spec)} | ${f(B.upd / A.upd)} | ${f((B.spec + B.upd) / (A.spec + A.upd))} |`);
}
console.log(`load average at the end ${loadavg().map(f).join(" ")}`);
