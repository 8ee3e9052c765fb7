#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own test runner (TypeScript through tsx).
// Node 20's --test does not expand globs, so the files are listed here.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

// `--dir DIR` runs another tree: test-reliability/ holds the long fault and soak suites
// (npm run test:reliability), kept out of `npm test`.
const args = process.argv.slice(2);
let root = "test";
const dirAt = args.indexOf("--dir");
if (dirAt >= 0) {
  root = args[dirAt + 1];
  args.splice(dirAt, 2);
}
const filter = args;
let files = find(root);
if (filter.length) files = files.filter((f) => filter.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
const res = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...files], {
  stdio: "inherit",
});
process.exit(res.status ?? 1);
