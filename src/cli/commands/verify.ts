/**
 * `bert-ts verify`: parity on the user's own checkpoint. With --reference FILE.json (written by
 * scripts/make-reference.py with PyTorch + transformers, the ../shared/golden format): per output
 * kind, the largest |bert-ts - PyTorch| and the input where it occurred, pass/fail at --tolerance.
 * Without: built-in self-checks. Exit code 0 when everything passes, 1 otherwise.
 */
import type { Command } from "commander";
import { gunzipSync } from "node:zlib";
import { checkReferenceFile, selfCheck, verifyAgainstReference, type CheckResult } from "../../pipelines/verify.js";
import { CliError, formatTable, OutputSink, resolveFormat } from "../io.js";
import { resolveModelArg } from "../model-arg.js";
import { readFile } from "node:fs/promises";

interface VerifyFlags {
  model?: string;
  reference?: string;
  tolerance: number;
  format?: string;
  output?: string;
}

function parseTolerance(value: string): number {
  const t = Number(value);
  if (!Number.isFinite(t) || t < 0) throw new CliError(`--tolerance expects a number >= 0, got ${JSON.stringify(value)}`);
  return t;
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("Check bert-ts against PyTorch on your model (--reference FILE from scripts/make-reference.py), or run self-checks")
    .requiredOption("-m, --model <id|dir>", "model folder or Hugging Face id")
    .option("-r, --reference <file>", "reference outputs (.json or .json.gz, the ../shared/golden format)")
    .option("--tolerance <x>", "largest |difference| that passes (token ids must be equal)", parseTolerance, 1e-4)
    .option("-f, --format <format>", "text (readable; default on a terminal) or jsonl (one object per check)")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .action(async (flags: VerifyFlags) => runVerify(flags));
}

async function readReference(path: string): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new CliError(`Cannot read --reference ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new CliError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

async function runVerify(flags: VerifyFlags): Promise<void> {
  const format = resolveFormat(flags.format, flags.output);
  const reference = flags.reference === undefined ? undefined : await readReference(flags.reference);
  const dir = await resolveModelArg(flags.model);
  let results: CheckResult[];
  if (reference === undefined) results = await selfCheck(dir, flags.tolerance);
  else {
    let file;
    try {
      file = checkReferenceFile(reference, flags.reference!);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    results = await verifyAgainstReference(dir, file, flags.tolerance);
  }
  const sink = new OutputSink(flags.output);
  try {
    if (format === "jsonl") {
      for (const r of results) {
        sink.writeJsonLine({ kind: r.kind, max_abs_diff: r.maxAbsDiff, worst_input: r.worstInput, inputs: r.inputs, tolerance: flags.tolerance, pass: r.pass, ...(r.error ? { error: r.error } : {}), ...(r.skipped ? { skipped: r.skipped } : {}) });
      }
    } else {
      const rows = results.map((r) => [r.kind, r.skipped ?? r.error ?? r.maxAbsDiff.toExponential(2), r.worstInput < 0 ? "-" : String(r.worstInput), String(r.inputs), r.skipped ? "not checked" : r.pass ? "pass" : "FAIL"]);
      const failed = results.filter((r) => !r.pass).length;
      const checked = results.filter((r) => !r.skipped).length;
      const title = reference === undefined ? "self-checks" : `against ${flags.reference}`;
      sink.write(`${title}, tolerance ${flags.tolerance}\n${formatTable([["kind", "max |diff|", "worst input", "inputs", ""], ...rows], [false, true, true, true, false])}\n`);
      const notChecked = results.length - checked;
      sink.write((failed === 0 ? `all ${checked} checks pass` : `${failed} of ${checked} checks FAIL`) + (notChecked > 0 ? `; ${notChecked} output kind(s) in the reference not checked\n` : "\n"));
    }
  } finally {
    await sink.close();
  }
  if (results.some((r) => !r.pass)) process.exitCode = 1;
}
