import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The fault suite runs on its own (npm run test:faults), not twice; the llama.cpp suite needs the optional
    // node-llama-cpp (npm run setup:llama, then npm run test:llama).
    exclude: [...configDefaults.exclude, "test/faults/**", "test/**/*.llama.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file starts a real server with a real engine; the machine has few cores.
    fileParallelism: false,
  },
});
