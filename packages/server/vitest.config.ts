import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The fault suite runs on its own (npm run test:faults), not twice.
    exclude: [...configDefaults.exclude, "test/faults/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file starts a real server with a real engine; the machine has few cores.
    fileParallelism: false,
  },
});
