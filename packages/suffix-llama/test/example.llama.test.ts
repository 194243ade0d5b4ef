// The README's example runs as shipped (built package, imported by its name) on the test GGUF.

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, inject, it } from "vitest";

it("examples/completion.mjs: the second request repeats the first and draws more validated drafts", () => {
  const pkg = fileURLToPath(new URL("..", import.meta.url));
  const r = spawnSync(process.execPath, ["examples/completion.mjs", inject("tinyGguf")], { cwd: pkg, encoding: "utf8", timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  const texts = [...r.stdout.matchAll(/^request \d: (.*)$/gm)].map((m) => m[1]);
  const counts = [...r.stdout.matchAll(/validated (\d+), refuted (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  expect(texts.length).toBe(2);
  expect(texts[1]).toBe(texts[0]);
  expect(counts.length).toBe(2);
  expect(counts[1]![0]).toBeGreaterThan(counts[0]![0]);
  expect(counts[1]![1]).toBeLessThan(counts[0]![1]);
  expect(r.stdout).toContain("responses cached: 2");
});
