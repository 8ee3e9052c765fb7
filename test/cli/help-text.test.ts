/**
 * `bert-ts --help` is printed by bin/bert-ts.js from dist/bin/help.json (rendered at build time by
 * scripts/build-cli.mjs) without loading commander or the CLI. It must be exactly what the live
 * program prints, at every terminal width: compared here with the program built from src/.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { main } from "../../src/cli/main.js";
import { REPO_ROOT } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const HELP_JSON = join(REPO_ROOT, "dist", "bin", "help.json");
const skip = existsSync(HELP_JSON) ? false : "dist/bin/help.json not built (npm run build)";

async function liveHelp(width: number): Promise<string> {
  let text = "";
  const saved = process.exitCode;
  await main(["node", "bert-ts", "--help"], { writeOut: (s) => void (text += s), writeErr: (s) => void (text += s), getOutHelpWidth: () => width, getErrHelpWidth: () => width });
  process.exitCode = saved;
  return text;
}

test("the prerendered help equals the live program's at every width it holds", { skip }, async () => {
  const { minWidth, byWidth, texts } = JSON.parse(readFileSync(HELP_JSON, "utf8")) as { minWidth: number; byWidth: number[]; texts: string[] };
  assert.ok(byWidth.length >= 200, "widths up to at least 200 columns");
  for (let i = 0; i < byWidth.length; i++) {
    const width = minWidth + i;
    assert.equal(texts[byWidth[i]], await liveHelp(width), `help at ${width} columns differs from the live program (rebuild: npm run build)`);
  }
  // It really depends on the width (else one width's text would prove little).
  assert.notEqual(await liveHelp(60), await liveHelp(120));
});

/** Runs node with a resolve hook that reports every commander module the process loads. */
function runWatchingCommander(args: string[]) {
  const hook = `data:text/javascript,${encodeURIComponent(
    "export async function resolve(s,c,n){const r=await n(s,c);if(/node_modules\\/commander\\//.test(r.url))process.stderr.write('LOADED '+r.url+'\\n');return r}",
  )}`;
  const register = `data:text/javascript,${encodeURIComponent(`import{register}from"node:module";register(${JSON.stringify(hook)});`)}`;
  return spawnSync(process.execPath, ["--import", register, ...args], { encoding: "utf8" });
}

test("bert-ts --help and -h print it (80 columns off a terminal) without loading commander", { skip }, async () => {
  const want = await liveHelp(80);
  for (const flag of ["--help", "-h"]) {
    const r = runWatchingCommander([BIN, flag]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, want);
    assert.doesNotMatch(r.stderr, /LOADED/, `${flag} loaded commander`);
  }
  // The watcher does see commander when the CLI runs (else its silence above would prove nothing).
  const control = runWatchingCommander([BIN, "help"]);
  assert.equal(control.status, 0, control.stderr);
  assert.equal(control.stdout, want);
  assert.match(control.stderr, /LOADED .*commander/);
});
