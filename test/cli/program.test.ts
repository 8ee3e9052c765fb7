/**
 * The `bert-ts` program itself: --version, and that commands other than `serve` never load the
 * server's dependencies (fastify, prom-client) — they cost start-up time on every command.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const skip = existsSync(join(REPO_ROOT, "dist", "cli", "main.js")) ? false : "dist/ not built (run npx tsc -p tsconfig.json)";

test("--version and -V print package.json's version", { skip }, () => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
  for (const flag of ["--version", "-V"]) {
    const r = spawnSync(process.execPath, [BIN, flag], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  }
});

/** Runs node with a resolve hook that reports every fastify or prom-client module the process loads. */
function runWatchingServerModules(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const hook = `data:text/javascript,${encodeURIComponent(
    "export async function resolve(s,c,n){const r=await n(s,c);if(/node_modules\\/(fastify|prom-client)\\//.test(r.url))process.stderr.write('LOADED '+r.url+'\\n');return r}",
  )}`;
  const register = `data:text/javascript,${encodeURIComponent(`import{register}from"node:module";register(${JSON.stringify(hook)});`)}`;
  return spawnSync(process.execPath, ["--import", register, ...args], { encoding: "utf8" });
}

test("--help does not load fastify or prom-client", { skip }, () => {
  // The watcher itself must see a load, or its silence below would prove nothing.
  const control = runWatchingServerModules(["--input-type=module", "-e", "await import('fastify')"]);
  assert.match(control.stderr, /LOADED .*fastify/);
  const r = runWatchingServerModules([BIN, "--help"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: bert-ts/);
  assert.doesNotMatch(r.stderr, /LOADED/);
});

test("the command table --help lists (without loading the commands) matches each command's own registration", async () => {
  const { Command, Help } = await import("commander");
  const { COMMANDS, loadAllCommands } = await import("../../src/cli/commands/index.js");
  const program = new Command("bert-ts");
  for (const register of await loadAllCommands()) register(program);
  const help = new Help();
  assert.deepEqual(
    COMMANDS.map((c) => ({ name: c.name, term: c.term, summary: c.summary })),
    program.commands.map((c) => ({ name: c.name(), term: help.subcommandTerm(c), summary: c.description() })),
  );
});

/**
 * The source modules (src/…, without extension) a process running the CLI loaded, seen as the ES
 * modules of the unbundled tree (BERT_TS_CLI_UNBUNDLED=1): the bundle (dist/bin/cli.cjs) is one
 * script whose modules esbuild initialises on the same import()s, so the tree's laziness is its.
 */
function loadedSourceModules(args: string[]): { status: number | null; stderr: string; modules: Set<string> } {
  const hook = `data:text/javascript,${encodeURIComponent(
    "export async function resolve(s,c,n){const r=await n(s,c);if(/\\/dist\\/.*\\.js$/.test(r.url))process.stderr.write('LOADED '+r.url+'\\n');return r}",
  )}`;
  const register = `data:text/javascript,${encodeURIComponent(`import{register}from"node:module";register(${JSON.stringify(hook)});`)}`;
  const r = spawnSync(process.execPath, ["--import", register, BIN, ...args], { encoding: "utf8", env: { ...process.env, BERT_TS_CLI_UNBUNDLED: "1" } });
  const modules = new Set<string>();
  for (const [, url] of r.stderr.matchAll(/^LOADED (\S+)$/gm)) {
    const path = fileURLToPath(url);
    const inTree = /[/\\]dist[/\\](?!bin[/\\])(.+)\.js$/.exec(path);
    if (inTree) modules.add(inTree[1].replaceAll("\\", "/"));
  }
  return { status: r.status, stderr: r.stderr, modules };
}

test("the command list (`help`) loads no command implementation; a command loads its own and not the others'", { skip }, () => {
  // `help` runs the CLI's list; `--help` alone loads no module at all (test/cli/help-text.test.ts).
  const help = loadedSourceModules(["help"]);
  assert.equal(help.status, 0, help.stderr);
  assert.ok(help.modules.has("cli/commands/index"), "the watcher sees the table load");
  const loaded = [...help.modules].filter((m) => /^(pipelines\/|cli\/commands\/(?!index$))/.test(m));
  assert.deepEqual(loaded, []);
  const tok = loadedSourceModules(["tokenize", "--help"]);
  assert.equal(tok.status, 0, tok.stderr);
  assert.ok(tok.modules.has("cli/commands/tokenize"));
  assert.deepEqual([...tok.modules].filter((m) => /^cli\/commands\/(embed|search|serve|corpus-index)$/.test(m)), []);
});
