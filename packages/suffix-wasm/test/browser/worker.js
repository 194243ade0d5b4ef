// Web Worker for test/browser.test.ts: loads the package as an ES module
// from its URL and runs the checks with the default (synchronously created)
// runtime, as the README says workers may.
/* global self */
import * as lib from "../../dist/index.js";
import { churn, goldenDifferential, readmeExample } from "./checks.js";

self.onmessage = ({ data }) => {
  try {
    const runtime = lib.defaultRuntime();
    self.postMessage({
      readme: readmeExample(lib, undefined),
      golden: goldenDifferential(lib, data.rows, data.golden, runtime),
      churn: churn(lib, runtime, data.warmup, data.cycles),
    });
  } catch (err) {
    self.postMessage({ error: String(err && err.stack || err) });
  }
};
