import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests that convert checkpoints need the Python toolchain: they run on their own (npm run test:models).
    exclude: [...configDefaults.exclude, "test/models/**"],
  },
});
