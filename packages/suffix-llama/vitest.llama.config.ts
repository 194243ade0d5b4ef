// The suite of this package (npm run test:llama): needs the optional node-llama-cpp (`npm run setup:llama` at the
// repository root) and the Python converter that writes the GGUF file (tools/convert, numpy only).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.llama.test.ts"],
    globalSetup: ["test/gguf.global-setup.ts"],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    // Model loads are heavy; the machine has few cores.
    fileParallelism: false,
  },
});
