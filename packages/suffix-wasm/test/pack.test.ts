// The published package as a consumer gets it: `npm pack`, install the
// tarball into an empty folder with no network (the package has no runtime
// dependencies), then use it as ESM, CommonJS, the `/wasm` subpath, the CLI,
// and type-check a TypeScript consumer against the installed declarations.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const exec = promisify(execFile);
const pkgDir = fileURLToPath(new URL("..", import.meta.url));
const repoRoot = resolve(pkgDir, "../..");
const tsc = join(repoRoot, "node_modules/typescript/bin/tsc");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

let work = "";
let consumer = "";
let packedFiles: string[] = [];

const run = (cmd: string, args: string[], cwd = consumer) =>
  exec(cmd, args, { cwd, env: { ...process.env, npm_config_update_notifier: "false" }, maxBuffer: 1 << 24 });

const README_EXAMPLE = `
const cache = new SuffixDecodingCache({ maxTreeDepth: 64, maxCachedRequests: 1000 });
cache.startRequest("req-1", [101, 102, 103]);
cache.addActiveResponse("req-1", [7, 8, 9, 10, 11, 12]);
cache.stopRequest("req-1");
cache.startRequest("req-2", [201, 202]);
cache.addActiveResponse("req-2", [7, 8, 9]);
const draft = cache.speculate("req-2", [201, 202, 7, 8, 9], { maxSpecFactor: 2 });
`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "suffix-wasm-pack-"));
  const { stdout } = await run(npm, ["pack", "--json", "--pack-destination", work], pkgDir);
  const [info] = JSON.parse(stdout.slice(stdout.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  packedFiles = info.files.map((f) => f.path);
  consumer = join(work, "consumer");
  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  await run(npm, ["install", "--offline", "--no-audit", "--no-fund", "--no-package-lock", join(work, info.filename)]);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("npm pack tarball in a fresh folder", () => {
  it("ships the build, declarations, CLI, README, CHANGELOG and LICENSE, and no sources or maps", () => {
    for (const f of ["package.json", "README.md", "CHANGELOG.md", "LICENSE", "bin/glimpse-suffix.js", "build/suffix_tree.wasm",
      "dist/index.js", "dist/index.d.ts", "dist/wasm.js", "dist/cjs/index.cjs", "dist/cjs/index.d.cts", "dist/cjs/wasm.cjs", "dist/cli/main.js"]) {
      expect(packedFiles, f).toContain(f);
    }
    expect(packedFiles.filter((f) => f.endsWith(".map") || f.startsWith("src/") || f.startsWith("assembly/"))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(consumer, "node_modules/@glimpse/suffix-wasm/package.json"), "utf8"));
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(manifest.private).toBeUndefined();
    expect(manifest.dependencies ?? {}).toEqual({});
  });

  it("imports as ESM, with the /wasm subpath", async () => {
    writeFileSync(join(consumer, "esm.mjs"), `
import { readFileSync } from "node:fs";
import { SuffixDecodingCache, loadSuffixRuntime } from "@glimpse/suffix-wasm";
import { wasmBytes, wasmUrl } from "@glimpse/suffix-wasm/wasm";
${README_EXAMPLE}
const file = readFileSync(wasmUrl);
const runtime = await loadSuffixRuntime({ bytes: file });
const own = new SuffixDecodingCache({ runtime });
own.startRequest(1, [5, 6, 5, 6, 5]);
console.log(JSON.stringify({
  tokens: Array.from(draft.tokenIds), matchLen: draft.matchLen,
  sameBytes: Buffer.compare(file, Buffer.from(wasmBytes())) === 0, wasmSize: file.length,
  own: Array.from(own.speculate(1, [5, 6, 5, 6, 5]).tokenIds),
  resolved: import.meta.resolve("@glimpse/suffix-wasm/suffix_tree.wasm").endsWith("/build/suffix_tree.wasm"),
}));
`);
    const out = JSON.parse((await run(process.execPath, ["esm.mjs"])).stdout);
    expect(out).toEqual({ tokens: [10, 11, 12], matchLen: 3, sameBytes: true, wasmSize: expect.any(Number), own: [6, 5], resolved: true });
    expect(out.wasmSize).toBeGreaterThan(1000);
  });

  it("requires as CommonJS, with the /wasm subpath", async () => {
    writeFileSync(join(consumer, "cjs.cjs"), `
const { readFileSync } = require("node:fs");
const { SuffixDecodingCache } = require("@glimpse/suffix-wasm");
const { wasmBytes, wasmUrl } = require("@glimpse/suffix-wasm/wasm");
${README_EXAMPLE}
console.log(JSON.stringify({
  tokens: Array.from(draft.tokenIds),
  sameBytes: Buffer.compare(readFileSync(wasmUrl), Buffer.from(wasmBytes())) === 0,
}));
`);
    expect(JSON.parse((await run(process.execPath, ["cjs.cjs"])).stdout)).toEqual({ tokens: [10, 11, 12], sameBytes: true });
  });

  it("runs the glimpse-suffix CLI (commander bundled in)", async () => {
    const { stdout } = await run(join(consumer, "node_modules/.bin/glimpse-suffix"),
      ["simulate", "--data", join(pkgDir, "fixtures/sql-sample.jsonl"), "--limit", "5", "--json"]);
    expect(JSON.parse(stdout).num_requests).toBe(5);
  });

  it("type-checks TypeScript consumers (ESM and CommonJS) against the installed declarations", async () => {
    const body = (imports: string) => `${imports}
${README_EXAMPLE}
const ids: Int32Array = draft.tokenIds;
const url: URL = wasmUrl;
const bytes: Uint8Array = wasmBytes();
// @ts-expect-error: maxSpecTokens is a number (the declarations are typed, not any)
cache.speculate("req-2", [1], { maxSpecTokens: "3" });
export { ids, url, bytes };
`;
    writeFileSync(join(consumer, "consumer.mts"), body(
      `import { SuffixDecodingCache } from "@glimpse/suffix-wasm";\nimport { wasmBytes, wasmUrl } from "@glimpse/suffix-wasm/wasm";`));
    writeFileSync(join(consumer, "consumer.cts"), body(
      `import { SuffixDecodingCache } from "@glimpse/suffix-wasm";\nimport { wasmBytes, wasmUrl } from "@glimpse/suffix-wasm/wasm";`));
    writeFileSync(join(consumer, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        module: "node16", moduleResolution: "node16", target: "es2022", lib: ["es2022", "dom"],
        strict: true, noEmit: true, types: [], skipLibCheck: false,
      },
      files: ["consumer.mts", "consumer.cts"],
    }));
    const result = await run(process.execPath, [tsc, "-p", "tsconfig.json"]).catch((err: { stdout: string }) => err);
    expect(result.stdout).toBe("");
  });
});
