#!/usr/bin/env node
import { main } from "../dist/cli/main.js";

// `bert-ts ... | head` closes the pipe early: that is the reader's choice, not an error.
// Any other stdout failure (a full disk: ENOSPC) is one line on stderr and exit code 1.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  process.stderr.write(`bert-ts: cannot write to stdout: ${err.message}\n`);
  process.exit(1);
});

main(process.argv).catch((err) => {
  process.stderr.write(`bert-ts: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
