// The README's curl examples, run as written against a live server (only the
// address is swapped for the test server's).

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, SUFFIX, type TestServer } from "./helpers.js";

const run = promisify(execFile);
const README = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const examples = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).filter((s) => s.includes("curl "));

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ speculativeConfig: SUFFIX }, { servedModelName: "glimpse-coder-tiny" });
});
afterAll(() => srv?.close());

describe("README curl examples", () => {
  it("has some", () => expect(examples.length).toBeGreaterThanOrEqual(4));

  it.each(examples.map((e) => [e.split("\n")[0], e]))("%s", async (_first, script) => {
    const { stdout } = await run("bash", ["-eo", "pipefail", "-c", script.replaceAll("http://127.0.0.1:8000", srv.url)], { timeout: 30_000 });
    expect(stdout.length).toBeGreaterThan(0);
    expect(stdout).not.toContain("\"error\"");
    if (stdout.startsWith("data: ")) expect(stdout.trimEnd().endsWith("data: [DONE]")).toBe(true);
    else if (stdout.startsWith("{")) for (const line of stdout.trim().split("\n")) expect(() => JSON.parse(line)).not.toThrow();
  });
});
