#!/usr/bin/env node
// Entry point of the `glimpse` CLI; the code lives in dist/ (npm run build).
import { main } from "../dist/cli.js";

main(process.argv).catch((err) => {
  console.error(`glimpse: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
