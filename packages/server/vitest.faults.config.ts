// The fault suite (npm run test:faults): each file reproduces one finding of
// the hardening issue against real servers, most of them `glimpse serve`
// child processes. Needs `npm run build` first (the CLI runs from dist/).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Servers and model loads are heavy; the machine has few cores.
    fileParallelism: false,
  },
});
