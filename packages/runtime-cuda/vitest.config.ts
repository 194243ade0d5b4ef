import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests that convert checkpoints need the Python toolchain: they run on their own (npm run test:models);
    // tests of the llama.cpp backend need the optional node-llama-cpp (npm run setup:llama, then npm run test:llama).
    exclude: [...configDefaults.exclude, "test/models/**", "test/**/*.llama.test.ts"],
  },
});
