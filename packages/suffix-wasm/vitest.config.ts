import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    // Timing-insensitive tests, but the machine has 2 cores: keep files serial.
    fileParallelism: false,
  },
});
