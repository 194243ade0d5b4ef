import { defineConfig } from "vitest/config";

// Tests that build model folders with the Python toolchain (/usr/bin/python3 with torch/onnx): run apart from the
// unit suite, as `vitest run -c vitest.models.config.ts` (npm run test:models).
export default defineConfig({
  test: {
    include: ["test/models/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    // One model-sized test file at a time: they are CPU- and memory-heavy.
    fileParallelism: false,
  },
});
