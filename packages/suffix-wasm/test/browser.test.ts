// The package in a real browser (headless Debian Chromium through
// playwright-core), served over HTTP from 127.0.0.1 and loaded the way the
// README says: as an ES module from a URL on the main thread (runtime loaded
// with loadSuffixRuntime from the wasm URL) and inside a module Web Worker
// (default runtime). Both run the README example, a golden differential on a
// sample of the sql trace and a churn loop (wasm memory flat), then the demo
// page is driven and screenshotted.
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJsonl, readTrace, sharedPath } from "./shared-data.js";

const pkgDir = fileURLToPath(new URL("..", import.meta.url));
const CHROMIUM = process.env.GLIMPSE_CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = process.env.GLIMPSE_ARTIFACTS
  ? resolve(process.env.GLIMPSE_ARTIFACTS, "suffix-wasm")
  : resolve(pkgDir, "../../artifacts/suffix-wasm");
const SAMPLE_ROWS = 20;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".wasm": "application/wasm",
  ".json": "application/json", ".css": "text/css",
};

// A static file server for the package folder (and a blank page), nothing else.
function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (path === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    if (path === "/blank.html") {
      res.writeHead(200, { "content-type": TYPES[".html"] }).end("<!doctype html><title>suffix-wasm test</title>");
      return;
    }
    const file = resolve(pkgDir, "." + path);
    if (!file.startsWith(pkgDir.endsWith(sep) ? pkgDir : pkgDir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

interface CheckResults {
  error?: string;
  readme: { tokenIds: number[]; isInt32Array: boolean; matchLen: number };
  golden: { steps: number; mismatches: unknown[] };
  churn: { before: number; after: number; cycles: number; sound: string | null };
}

let server: Server;
let browser: Browser;
let page: Page;
let base = "";
const pageErrors: string[] = [];

// The data the browser checks get: the first rows of the sql trace and the reference drafts for them.
const sqlRows = () => readTrace("sql", SAMPLE_ROWS).map((r) => ({ prompt: Array.from(r.prompt), response: Array.from(r.response) }));
const sqlGolden = () => readJsonl<{ request_id: number }>(sharedPath("golden/sql.path.drafts.jsonl")).filter((g) => g.request_id < SAMPLE_ROWS);

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: the browser test needs Debian's chromium ` +
      "(apt-get install chromium, as .ci/run does) or GLIMPSE_CHROMIUM=/path/to/chromium");
  }
  if (!existsSync(join(pkgDir, "dist/index.js"))) throw new Error("dist/ is missing: run npm run build first");
  server = await serve();
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 960, height: 720 } });
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (msg) => { if (msg.type() === "error") pageErrors.push(msg.text()); });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
});

function expectChecks(r: CheckResults, goldenSteps: number) {
  expect(r.error).toBeUndefined();
  expect(r.readme).toEqual({ tokenIds: [10, 11, 12], isInt32Array: true, matchLen: 3 });
  expect(r.golden.mismatches).toEqual([]);
  expect(r.golden.steps).toBe(goldenSteps);
  expect(r.churn.sound).toBeNull();
  expect(r.churn.before).toBeGreaterThan(0);
  expect(r.churn.after, `wasm memory grew over ${r.churn.cycles} cycles after warm-up`).toBe(r.churn.before);
}

describe("in headless Chromium", () => {
  it("main thread: ESM from a URL, runtime from the wasm URL; README example, golden sample, flat memory", { timeout: 120_000 }, async () => {
    await page.goto(`${base}/blank.html`);
    const golden = sqlGolden();
    // Handed over first: a function passed to page.evaluate must not contain
    // import(), which vitest would rewrite.
    await page.evaluate((data) => { (window as unknown as { checkData: unknown }).checkData = data; },
      { rows: sqlRows(), golden, warmup: 1500, cycles: 4000 });
    const results = await page.evaluate<CheckResults & { wasmUrl: string }>(
      'import("/test/browser/checks.js").then((checks) => checks.mainThread(window.checkData))');
    expect(results.wasmUrl).toBe(`${base}/build/suffix_tree.wasm`);
    expectChecks(results, golden.length);
    expect(pageErrors).toEqual([]);
  });

  it("Web Worker: the same checks with the default runtime", { timeout: 120_000 }, async () => {
    await page.goto(`${base}/blank.html`);
    const golden = sqlGolden();
    const results = await page.evaluate((data) => new Promise<CheckResults>((ok) => {
      const worker = new Worker("/test/browser/worker.js", { type: "module" });
      worker.onmessage = (e) => ok(e.data);
      worker.onerror = (e) => ok({ error: `worker error: ${e.message}` } as CheckResults);
      worker.postMessage(data);
    }), { rows: sqlRows(), golden, warmup: 1500, cycles: 4000 });
    expectChecks(results, golden.length);
    expect(pageErrors).toEqual([]);
  });

  it("demo page: drafts the continuation of pasted text, and a screenshot is saved", { timeout: 60_000 }, async () => {
    await page.goto(`${base}/demo/index.html`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    // The page's sample: the typed loop header continues as in the earlier text.
    expect(await page.textContent("#draft")).toMatch(/^ item in items:\n {8}total = add\(total, item\)/);
    // Typing something else drafts from the earlier text again.
    await page.evaluate(() => { document.body.dataset.ready = ""; });
    await page.fill("#context", "def add(a, b):");
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    expect(await page.textContent("#draft")).toBe("\n    return a + b");
    expect(await page.textContent("#stats")).toMatch(/draft tokens, matched the last \d+ tokens/);
    await page.fill("#context", "def sum_all(values):\n    total = 0\n    for");
    await page.waitForFunction(() => document.getElementById("draft")?.textContent?.startsWith(" item"));
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, "demo.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);
  });
});
