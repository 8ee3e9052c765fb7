/**
 * Every CLI output path reports write failures: a full device (/dev/full), a full file system (a
 * 64 KB tmpfs), stdout on a full device, and an interrupt mid-write. A failure exits non-zero with
 * one line naming the file and leaves an existing output untouched with no temporary file behind;
 * a closed stdout pipe (`| head`) still ends quietly.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { REPO_ROOT, modelPath, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MINILM = "minilm-l6-h384-random";
const TEXTS = Array.from({ length: 40 }, (_, i) => `sentence number ${i} about writing files`);

function run(args: string[], options: { input?: string; stdout?: number } = {}) {
  return spawnSync(process.execPath, [BIN, ...args], {
    input: options.input,
    encoding: "utf8",
    stdio: ["pipe", options.stdout ?? "pipe", "pipe"],
    env: { ...process.env, BERT_TS_BACKEND: "" },
  });
}

/** A failure: non-zero exit, the file named, no stack trace. */
function assertReported(res: ReturnType<typeof run>, file: string): void {
  assert.notEqual(res.status, 0, `exit status 0; stderr: ${res.stderr}`);
  assert.ok(res.stderr.includes(file), `stderr does not name ${file}: ${res.stderr}`);
  assert.doesNotMatch(res.stderr, /^\s+at /m, "a stack trace reached the user");
}

/** A 64 KB tmpfs (root only); null with the reason when it cannot be mounted here. */
function tinyFileSystem(): { dir: string; cleanup(): void } | string {
  const dir = mkdtempSync(join(tmpdir(), "bert-ts-full-"));
  const res = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { encoding: "utf8" });
  if (res.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (${(res.stderr || res.error?.message || "").trim()}); needs root`;
  }
  return {
    dir,
    cleanup() {
      spawnSync("umount", [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe("CLI output failures", { skip: skipUnlessModel(MINILM) }, () => {
  const model = () => modelPath(MINILM);

  it("embed -o /dev/full fails for every format, naming the file", () => {
    for (const format of ["jsonl", "json", "csv", "npy"]) {
      assertReported(run(["embed", "--model", model(), "--format", format, "-o", "/dev/full", "hello"]), "/dev/full");
    }
  });

  it("inspect -o /dev/full and tokenize -o /dev/full fail", () => {
    assertReported(run(["inspect", model(), "-o", "/dev/full"]), "/dev/full");
    assertReported(run(["tokenize", "--model", model(), "-o", "/dev/full", "hello"]), "/dev/full");
  });

  it("stdout on a full device fails with one line; a closed pipe ends quietly", () => {
    const full = openSync("/dev/full", "w");
    try {
      const res = run(["embed", "--model", model(), "--format", "jsonl", "hello"], { stdout: full });
      assertReported(res, "stdout");
    } finally {
      closeSync(full);
    }
    const piped = spawnSync("sh", ["-c", `"${process.execPath}" "${BIN}" embed --model "${model()}" --input - | head -c 10 >/dev/null`], {
      input: TEXTS.join("\n"),
      encoding: "utf8",
    });
    assert.equal(piped.status, 0);
    assert.doesNotMatch(piped.stderr, /EPIPE|Error/);
  });

  const fs = tinyFileSystem();
  after(() => typeof fs === "object" && fs.cleanup());
  it("a full file system: non-zero exit, the old output intact, no temporary file", { skip: typeof fs === "string" ? fs : false }, () => {
    const { dir } = fs as { dir: string };
    for (const format of ["jsonl", "json", "csv", "npy"]) {
      const out = join(dir, `out.${format}`);
      writeFileSync(out, "previous output\n");
      const res = run(["embed", "--model", model(), "--input", "-", "-o", out], { input: TEXTS.join("\n") });
      assertReported(res, out);
      assert.match(res.stderr, /ENOSPC|no space/);
      assert.equal(readFileSync(out, "utf8"), "previous output\n", `${format}: the existing output changed`);
      assert.deepEqual(readdirSync(dir).sort(), ["out.csv", "out.json", "out.jsonl", "out.npy"].filter((f) => existsSync(join(dir, f))).sort());
    }
  });

  it("SIGINT while writing leaves the existing output untouched and no temporary file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-sigint-"));
    mkdirSync(dir, { recursive: true });
    const input = join(dir, "in.txt");
    // ~60 MB of token JSON: writing it takes long enough to be interrupted once the temporary file exists.
    writeFileSync(input, Array.from({ length: 60_000 }, (_, i) => `line ${i} with a few more words to tokenize here and there`).join("\n"));
    const out = join(dir, "out.jsonl");
    writeFileSync(out, "previous output\n");
    const child = spawn(process.execPath, [BIN, "tokenize", "--model", model(), "--input", input, "-o", out], { stdio: "ignore" });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on("exit", (code, signal) => res({ code, signal })));
    let sent = false;
    for (let i = 0; i < 3000 && !sent; i++) {
      if (readdirSync(dir).some((f) => f.endsWith(".tmp"))) {
        child.kill("SIGINT");
        sent = true;
      } else await new Promise((r) => setTimeout(r, 5));
    }
    const { code, signal } = await exited;
    assert.ok(sent, "the temporary file never appeared");
    assert.equal(signal, "SIGINT", `exited with code ${code} before the interrupt landed`);
    assert.equal(readFileSync(out, "utf8"), "previous output\n");
    assert.deepEqual(readdirSync(dir).sort(), ["in.txt", "out.jsonl"]);
    rmSync(dir, { recursive: true, force: true });
  });
});
