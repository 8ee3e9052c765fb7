/**
 * The CLI's finish, as a user meets it (spawned processes, bin → dist): help with examples and a
 * reading order, JSONL pairs on stdin, progress and the closing summary, refusals of unknown
 * extensions and of empty input, the pooling line on stderr when piped, `embed | head -1`, a
 * terminal of unknown width, a tokenizer-only folder in `inspect`, RoBERTa's fill-mask error.
 * Terminals are real ptys (python3's pty module), not flags that pretend.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MINILM = "minilm-l6-h384-random";
const QA = "bert-micro-qa-random";
const PRETRAINING = "bert-tiny-pretraining-random";
const SEQCLS = "bert-micro-seqcls-random";
const skip =
  [MINILM, QA, PRETRAINING, SEQCLS, "roberta-micro-random", "sentence-transformers--all-MiniLM-L6-v2", "google-bert--bert-base-chinese"].map(skipUnlessModel).find((r) => r !== false) ??
  [MINILM, QA, PRETRAINING, SEQCLS].map((m) => skipUnlessGolden(`${m}.json`)).find((r) => r !== false) ??
  false;

function run(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args], { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

/** Runs the CLI with a pseudo-terminal as stdin/stdout/stderr (window size 0×0, as a fresh pty has). */
function runInPty(args: string[]): { status: number | null; output: string } {
  const py = `
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(st))`;
  const r = spawnSync("python3", ["-c", py, process.execPath, BIN, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, output: r.stdout };
}

const lines = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l));
const pairsOf = (model: string) => loadGolden(`${model}.json`).inputs.filter((x: any) => x.is_pair && !x.truncated);
const jsonl = (values: unknown[]) => values.map((v) => JSON.stringify(v)).join("\n") + "\n";

describe("bert-ts CLI polish", { skip }, () => {
  it("every command's --help ends with examples of that command; commands are listed in reading order", () => {
    const top = run(["--help"]);
    assert.equal(top.status, 0, top.stderr);
    const listed = [...top.stdout.slice(top.stdout.indexOf("Commands:")).matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]).filter((c) => c !== "help");
    assert.deepEqual(listed.slice(0, 3), ["tokenize", "embed", "similarity"]);
    assert.equal(listed.at(-1), "serve");
    assert.ok(listed.length >= 15, listed.join(" "));
    for (const command of listed) {
      const help = run([command, "--help"]);
      assert.equal(help.status, 0, help.stderr);
      const examples = help.stdout.slice(help.stdout.lastIndexOf("Examples:"));
      assert.ok(help.stdout.includes("Examples:"), `${command} --help has no examples`);
      assert.match(examples, new RegExp(`\\$ bert-ts ${command}\\b`), `${command}'s examples do not run ${command}`);
    }
  });

  it("serve --help states each default once", () => {
    const help = run(["serve", "--help"]).stdout.replace(/\n\s+/g, " ");
    assert.doesNotMatch(help, /\(default: [^)]*\)\s*\(default:/);
    assert.doesNotMatch(help, /\(default: false\)/);
  });

  it("JSONL pairs on stdin (--input - --input-format jsonl) for qa, nsp, classify and embed, as PyTorch computes them", () => {
    const qa = pairsOf(QA)[0];
    const q = run(["qa", "-m", modelPath(QA), "--input", "-", "--input-format", "jsonl"], jsonl([qa.input]));
    assert.equal(q.status, 0, q.stderr);
    assertClose(lines(q.stdout)[0].start_logits.flat(), qa.outputs.qa.start_logits, 1e-4, "qa start logits via stdin");

    const nsp = pairsOf(PRETRAINING);
    const n = run(["nsp", "-m", modelPath(PRETRAINING), "--input", "-", "--input-format", "jsonl"], jsonl(nsp.map((x: any) => x.input)));
    assert.equal(n.status, 0, n.stderr);
    lines(n.stdout).forEach((o, i) => assertClose(o.logits, nsp[i].outputs.nsp.logits, 1e-4, `nsp logits ${i}`));

    const cls = pairsOf(SEQCLS);
    const c = run(["classify", "-m", modelPath(SEQCLS), "--input", "-", "--input-format", "jsonl"], jsonl(cls.map((x: any) => x.input)));
    assert.equal(c.status, 0, c.stderr);
    lines(c.stdout).forEach((o, i) => assertClose(o.logits, cls[i].outputs.seqcls.logits, 1e-4, `classify logits ${i}`));

    const emb = pairsOf(MINILM);
    const e = run(["embed", "-m", modelPath(MINILM), "--input", "-", "--input-format", "jsonl"], jsonl(emb.map((x: any) => x.input)));
    assert.equal(e.status, 0, e.stderr);
    lines(e.stdout).forEach((o, i) => {
      assert.deepEqual([o.text, o.text_pair], emb[i].input);
      assertClose(o.embedding, emb[i].outputs.base.pooled.mean_l2_normalized, 1e-4, `pair embedding ${i}`);
    });
  });

  it("says which pooling made the vectors, and whose choice it was, on stderr when piped; ends with a summary (\"1 text\")", () => {
    const own = run(["embed", "-m", modelPath(MINILM), "one"]);
    assert.equal(own.status, 0, own.stderr);
    assert.match(own.stderr, /pooling mean \+ L2 normalise \(sentence-transformers modules\.json/);
    assert.match(own.stderr, /embedded 1 text in [\d.]+ s \([\d.]+ texts\/s\)/);
    const chosen = run(["embed", "-m", modelPath(MINILM), "--pooling", "cls", "one", "two"]);
    assert.equal(chosen.status, 0, chosen.stderr);
    assert.match(chosen.stderr, /pooling cls \+ L2 normalise \(--pooling; the model's own is mean\)/);
    assert.match(chosen.stderr, /embedded 2 texts in/);
    assert.doesNotMatch(chosen.stderr, /ETA/, "no progress bar when stderr is not a terminal");
  });

  it("shows a progress bar (percent, rate, ETA) on a terminal", () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-polish-"));
    const file = join(dir, "many.txt");
    writeFileSync(file, Array.from({ length: 200 }, (_, i) => `text number ${i}`).join("\n"));
    const r = runInPty(["embed", "-m", modelPath(QA), "--input", file, "-b", "8", "-o", join(dir, "out.jsonl")]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /embedding \[[^\]]*\] \d+% \| \d+\/200 texts \| [\d.]+ texts\/s \| ETA/);
    assert.match(r.output, /embedded 200 texts in/);
  });

  it("refuses unknown input and output extensions and empty input, saying why", () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-polish-"));
    writeFileSync(join(dir, "texts.json"), '["a", "b"]');
    writeFileSync(join(dir, "empty.txt"), "\n\n");
    const badIn = run(["embed", "-m", modelPath(MINILM), "--input", join(dir, "texts.json")]);
    assert.equal(badIn.status, 1);
    assert.match(badIn.stderr, /texts\.json: unknown input extension "\.json".*--input-format/);
    const badOut = run(["embed", "-m", modelPath(MINILM), "-o", join(dir, "v.parquet"), "hello"]);
    assert.equal(badOut.status, 1);
    assert.match(badOut.stderr, /v\.parquet: unknown output extension "\.parquet"/);
    const badOut2 = run(["classify", "-m", modelPath(SEQCLS), "-o", join(dir, "labels.csv"), "hello"]);
    assert.equal(badOut2.status, 1);
    assert.match(badOut2.stderr, /unknown output extension "\.csv": expected \.txt, \.jsonl/);
    const empty = run(["embed", "-m", modelPath(MINILM), "--input", join(dir, "empty.txt")]);
    assert.equal(empty.status, 1);
    assert.match(empty.stderr, /No texts in .*empty\.txt: it is empty/);
    const emptyStdin = run(["classify", "-m", modelPath(SEQCLS)], "");
    assert.equal(emptyStdin.status, 1);
    assert.match(emptyStdin.stderr, /No texts on stdin/);
  });

  it("embed | head -1 stops embedding once stdout is closed, exits 0, no EPIPE trace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-polish-"));
    const file = join(dir, "big.txt");
    const total = 20000;
    writeFileSync(file, Array.from({ length: total }, (_, i) => `sentence ${i} about cats and dogs`).join("\n"));
    const child = spawn(process.execPath, [BIN, "embed", "-m", modelPath(QA), "--input", file], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    let first = "";
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        first += d.toString();
        if (first.includes("\n")) {
          child.stdout.destroy(); // what head does after its line
          resolve();
        }
      });
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    assert.equal(JSON.parse(first.split("\n")[0]).text, "sentence 0 about cats and dogs");
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Error|at /);
    assert.doesNotMatch(stderr, new RegExp(`embedded ${total} texts`), "it embedded everything before stopping");
  });

  it("similarity on a terminal that reports no width prints the matrix", () => {
    const r = runInPty(["similarity", "-m", modelPath(MINILM), "a cat", "a dog", "a car"]);
    assert.equal(r.status, 0, r.output);
    assert.doesNotMatch(r.output, /wider than this terminal/);
    assert.match(r.output, /cosine similarity; pooling mean/);
  });

  it("inspect describes a tokenizer-only folder and says it has no weights", () => {
    for (const [name, vocab] of [["sentence-transformers--all-MiniLM-L6-v2", 30522], ["google-bert--bert-base-chinese", 21128]] as const) {
      const text = run(["inspect", modelPath(name)]);
      assert.equal(text.status, 0, text.stderr);
      assert.match(text.stdout, /weights\s+NONE: config and tokenizer only/);
      const json = run(["inspect", modelPath(name), "--format", "json"]);
      assert.equal(json.status, 0, json.stderr);
      const report = JSON.parse(json.stdout);
      assert.equal(report.weights, null);
      assert.equal(report.parameters, null);
      assert.equal(report.tokenizer.vocab_size, vocab);
      assert.equal(report.config.model_type, "bert");
    }
  });

  it("fill-mask on a RoBERTa checkpoint without its LM head names RoBERTa's class", () => {
    const r = run(["fill-mask", "-m", modelPath("roberta-micro-random"), "The <mask> sat."]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /RobertaForMaskedLM/);
    assert.doesNotMatch(r.stderr, /BertForMaskedLM/);
  });
});
