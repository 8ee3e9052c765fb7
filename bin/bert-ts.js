#!/usr/bin/env node
import { main } from "../dist/cli/main.js";

// `bert-ts ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

main(process.argv).catch((err) => {
  process.stderr.write(`bert-ts: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
