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

/**
 * Runs the bin with BERT_TS_TRACE_LOAD=1: bin/bert-ts.js writes "code-cache" when it loads the
 * bundled CLI (commander is inside it) and the CLI writes "cli" when its main() runs.
 */
function runTraced(args: string[]) {
  return spawnSync(process.execPath, args, { encoding: "utf8", env: { ...process.env, BERT_TS_TRACE_LOAD: "1" } });
}

test("bert-ts --help and -h print it (80 columns off a terminal) without loading commander", { skip }, async () => {
  const want = await liveHelp(80);
  for (const flag of ["--help", "-h"]) {
    const r = runTraced([BIN, flag]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, want);
    assert.match(r.stderr, /load-trace bin /);
    assert.doesNotMatch(r.stderr, /load-trace (code-cache|cli)\b/, `${flag} loaded the CLI`);
  }
  // The trace does show the CLI when it runs (else its silence above would prove nothing).
  const control = runTraced([BIN, "help"]);
  assert.equal(control.status, 0, control.stderr);
  assert.equal(control.stdout, want);
  assert.match(control.stderr, /load-trace cli /);
});
