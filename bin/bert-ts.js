#!/usr/bin/env node
import { statSync } from "node:fs";

// The bundled CLI (scripts/build-cli.mjs) starts faster; it is used when it is at least as new as the
// unbundled build, so a tsc-only rebuild of dist/ is never shadowed by a stale bundle.
function newerOrSame(bundle, tree) {
  try {
    return statSync(new URL(bundle, import.meta.url)).mtimeMs >= statSync(new URL(tree, import.meta.url)).mtimeMs;
  } catch {
    return false;
  }
}
const { main } = newerOrSame("../dist/bin/main.js", "../dist/cli/main.js") ? await import("../dist/bin/main.js") : await import("../dist/cli/main.js");

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
