#!/usr/bin/env node
"use strict";
// BERT_TS_TRACE_LOAD=1: the first line of the start-up trace (src/io/load-trace.ts writes the rest).
if (process.env.BERT_TS_TRACE_LOAD === "1") {
  const trace = (step) => {
    const u = process.resourceUsage();
    process.stderr.write(`bert-ts: load-trace ${step} ${performance.now().toFixed(1)} ms, cpu ${((u.userCPUTime + u.systemCPUTime) / 1000).toFixed(1)} ms, faults ${u.minorPageFault + u.majorPageFault}\n`);
  };
  trace("bin");
  process.on("exit", () => trace("exit"));
}
// CommonJS (bin/package.json): `--help` and `--version` are answered before any ES module loads.
const { fstatSync, readFileSync, statSync, writeSync } = require("node:fs");
const { join } = require("node:path");

// The bundled CLI (scripts/build-cli.mjs) starts faster; it is used when it is at least as new as the
// unbundled build, so a tsc-only rebuild of dist/ is never shadowed by a stale bundle.
function newerOrSame(bundle, tree) {
  try {
    return statSync(join(__dirname, bundle)).mtimeMs >= statSync(join(__dirname, tree)).mtimeMs;
  } catch {
    return false;
  }
}
const bundled = newerOrSame("../dist/bin/main.js", "../dist/cli/main.js");

/** Writes to stdout without creating process.stdout (which loads Node's stream modules) when it is not a terminal. */
function print(text, terminal) {
  if (!terminal) {
    try {
      writeSync(1, text);
      return;
    } catch (err) {
      if (err.code === "EPIPE") return; // `bert-ts --help | head -1`: the reader's choice
      if (err.code !== "EAGAIN") throw err;
    }
  }
  process.stdout.write(text);
}

/** commander's rule: stdout a terminal? Only a character device can be one (checked first: it is cheaper). */
function stdoutIsTerminal() {
  try {
    return fstatSync(1).isCharacterDevice() && process.stdout.isTTY === true;
  } catch {
    return false;
  }
}

/**
 * `bert-ts --help` and `--version` alone, answered without loading commander or the CLI: the help as
 * the bundle's build rendered it for this terminal's width (dist/bin/help.json), the version from
 * package.json as the CLI reads it. Anything else, or no prerendered text, runs the CLI.
 */
function answeredWithoutTheCli(args) {
  if (args.length !== 1) return false;
  try {
    if (args[0] === "--version" || args[0] === "-V") {
      const { version } = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8"));
      print(`${version}\n`, stdoutIsTerminal());
      return true;
    }
    if ((args[0] === "--help" || args[0] === "-h") && bundled) {
      const terminal = stdoutIsTerminal();
      // commander's width: the terminal's columns when stdout is one, else 80.
      const width = (terminal ? process.stdout.columns : undefined) ?? 80;
      const { minWidth, byWidth, texts } = JSON.parse(readFileSync(join(__dirname, "..", "dist", "bin", "help.json"), "utf8"));
      const text = texts[byWidth[width - minWidth]];
      if (typeof text !== "string") return false;
      print(text, terminal);
      return true;
    }
  } catch {
    // No prerendered help (an unbundled build): the CLI renders it.
  }
  return false;
}

if (!answeredWithoutTheCli(process.argv.slice(2))) {
  // `bert-ts ... | head` closes the pipe early: that is the reader's choice, not an error.
  // Any other stdout failure (a full disk: ENOSPC) is one line on stderr and exit code 1.
  process.stdout.on("error", (err) => {
    if (err.code === "EPIPE") process.exit(0);
    process.stderr.write(`bert-ts: cannot write to stdout: ${err.message}\n`);
    process.exit(1);
  });
  import(bundled ? "../dist/bin/main.js" : "../dist/cli/main.js")
    .then(({ main }) => main(process.argv))
    .catch((err) => {
      process.stderr.write(`bert-ts: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
