// The llama.cpp backend's suite (npm run test:llama): needs the optional node-llama-cpp, installed by
// `npm run setup:llama` at the repo root, and the Python toolchain that writes GGUF files (tools/convert).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.llama.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    // Model loads are heavy; the machine has few cores.
    fileParallelism: false,
  },
});
