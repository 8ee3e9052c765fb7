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
// BERT_TS_CLI_UNBUNDLED=1 runs the unbundled tree anyway (tests that watch which modules load).
const BUNDLE = join(__dirname, "..", "dist", "bin", "cli.cjs");
function bundleIfCurrent() {
  if (process.env.BERT_TS_CLI_UNBUNDLED === "1") return undefined;
  try {
    const info = statSync(BUNDLE);
    return info.mtimeMs >= statSync(join(__dirname, "..", "dist", "cli", "main.js")).mtimeMs ? info : undefined;
  } catch {
    return undefined;
  }
}
const bundle = bundleIfCurrent();
const bundled = bundle !== undefined;

/**
 * V8's code cache for the bundle, one file per command (each command compiles its own functions):
 * <BERT_TS_CACHE or ~/.cache/bert-ts>/code/, named by the command, V8's version, the bundle's path,
 * size and mtime. File: "BTCC", u32 format 1, u32 length, u32 checksum (the first 4 bytes of the
 * sha256 of the data), then V8's data. V8 checks that data against its own version, flags and the
 * source, but not its bytes (a damaged file could crash it): a file whose length or checksum do not
 * check out is ignored and rewritten. BERT_TS_CODE_CACHE=0 turns it off.
 */
const CODE_CACHE_MAGIC = 0x43435442; // "BTCC" as a little-endian u32
function codeCacheFile(command) {
  if (process.env.BERT_TS_CODE_CACHE === "0") return undefined;
  const { homedir } = require("node:os");
  const dir = join(process.env.BERT_TS_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "bert-ts"), "code");
  let pathHash = 0x811c9dc5; // FNV-1a of the bundle's path: installs of bert-ts keep a file each
  for (let i = 0; i < BUNDLE.length; i++) pathHash = Math.imul(pathHash ^ BUNDLE.charCodeAt(i), 0x01000193) >>> 0;
  const prefix = `cli-${command}-${pathHash.toString(16)}-`;
  const name = `${prefix}${process.versions.v8.replace(/[^0-9A-Za-z.]/g, "_")}-${process.arch}-${bundle.size}-${Math.floor(bundle.mtimeMs)}.bin`;
  return { dir, prefix, path: join(dir, name) };
}

/** The cached data in `path`, or why not: "missing" or "corrupt". */
function readCodeCache(path) {
  let file;
  try {
    file = readFileSync(path);
  } catch {
    return { problem: "missing" };
  }
  if (file.length < 16 || file.readUInt32LE(0) !== CODE_CACHE_MAGIC || file.readUInt32LE(4) !== 1 || file.readUInt32LE(8) !== file.length - 16) return { problem: "corrupt" };
  const data = file.subarray(16);
  if (require("node:crypto").createHash("sha256").update(data).digest().readUInt32LE(0) !== file.readUInt32LE(12)) return { problem: "corrupt" };
  return { data };
}

/** Best effort, through a temporary file renamed into place; older files of this command and install go. */
function writeCodeCache(cache, data) {
  const { mkdirSync, readdirSync, renameSync, unlinkSync, writeFileSync } = require("node:fs");
  const head = Buffer.alloc(16);
  head.writeUInt32LE(CODE_CACHE_MAGIC, 0);
  head.writeUInt32LE(1, 4);
  head.writeUInt32LE(data.length, 8);
  head.writeUInt32LE(require("node:crypto").createHash("sha256").update(data).digest().readUInt32LE(0), 12);
  const tmp = `${cache.path}.${process.pid}.tmp`;
  try {
    mkdirSync(cache.dir, { recursive: true });
    writeFileSync(tmp, Buffer.concat([head, data]));
    renameSync(tmp, cache.path);
    for (const f of readdirSync(cache.dir)) if (f.startsWith(cache.prefix) && f.endsWith(".bin") && join(cache.dir, f) !== cache.path) unlinkSync(join(cache.dir, f));
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}

/** The bundle's exports, compiled with (and, when there was none or V8 refused it, making) its code cache. */
function loadBundle(args) {
  const vm = require("node:vm");
  const { dirname, resolve } = require("node:path");
  const { pathToFileURL } = require("node:url");
  const Module = require("node:module");
  const word = args.find((a) => !a.startsWith("-"));
  let command = "none";
  try {
    if (word !== undefined && JSON.parse(readFileSync(join(__dirname, "..", "dist", "bin", "commands.json"), "utf8")).includes(word)) command = word;
  } catch {
    // no list: one file for all
  }
  const cache = codeCacheFile(command);
  const read = cache ? readCodeCache(cache.path) : { problem: "off" };
  // Module.wrap's parameters plus __bertTsImport: the bundle's import()s (serve, the progress bar) go
  // through this module's import(), relative ones from the bundle's folder (scripts/build-cli.mjs).
  const source = `(function (exports, require, module, __filename, __dirname, __bertTsImport) {${readFileSync(BUNDLE, "utf8")}\n});`;
  const script = new vm.Script(source, { filename: BUNDLE, cachedData: read.data });
  const status = read.data === undefined ? read.problem : script.cachedDataRejected ? "rejected" : "hit";
  if (process.env.BERT_TS_TRACE_LOAD === "1") process.stderr.write(`bert-ts: load-trace code-cache ${status}\n`);
  // Made at exit: by then it holds every function the command compiled, not just the top level.
  if (cache && status !== "hit") process.once("exit", () => writeCodeCache(cache, script.createCachedData()));
  const module = { exports: {} };
  const importer = (specifier) => import(specifier.startsWith(".") ? pathToFileURL(resolve(dirname(BUNDLE), specifier)).href : specifier);
  script.runInThisContext().call(module.exports, module.exports, Module.createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE), importer);
  return module.exports;
}

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
  (bundled ? Promise.resolve().then(() => loadBundle(process.argv.slice(2))) : import("../dist/cli/main.js"))
    .then(({ main }) => main(process.argv))
    .catch((err) => {
      process.stderr.write(`bert-ts: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
