/**
 * int8 / bf16 accuracy against float32, measured (issue 15): cosine of pooled vectors, and argmax
 * agreement and max |logit difference| of every head. The helpers are shared with
 * test/models/lowp-accuracy.test.ts, which asserts the bounds; `npm run bench` prints the figures
 * for every loadable model folder on its golden inputs and for MiniLM on the corpus.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Dtype } from "../src/backend/backend.js";
import { headForModel, tasksForConfig, type HeadsByTask, type HeadTask } from "../src/heads/index.js";
import { BertModel } from "../src/models/bert/model.js";
import { familyFor } from "../src/models/registry.js";
import { pool } from "../src/pooling/pool.js";
import type { ModelInput } from "../src/tokenizers/encoding.js";
import { loadTokenizer } from "../src/tokenizers/index.js";

export function cosineStats(a: Float32Array[], b: Float32Array[]): { mean: number; min: number } {
  let sum = 0;
  let min = 1;
  for (let i = 0; i < a.length; i++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = 0; j < a[i].length; j++) {
      dot += a[i][j] * b[i][j];
      na += a[i][j] ** 2;
      nb += b[i][j] ** 2;
    }
    const c = na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb);
    sum += c;
    min = Math.min(min, c);
  }
  return { mean: sum / a.length, min };
}

/** Rows of logits a head produces on the inputs (per text, token, or span end), in a fixed order. */
export function headLogitRows(head: HeadsByTask[HeadTask], task: HeadTask, inputs: readonly ModelInput[]): Float32Array[] {
  const rows = (data: Float32Array, width: number) => Array.from({ length: data.length / width }, (_, i) => data.subarray(i * width, (i + 1) * width));
  switch (task) {
    case "text-classification":
    case "next-sentence": {
      const { logits } = (head as HeadsByTask["text-classification" | "next-sentence"]).forward(inputs);
      return rows(logits.data, logits.shape[1]);
    }
    case "token-classification": {
      const out = (head as HeadsByTask["token-classification"]).forward(inputs);
      return inputs.flatMap((_, i) => {
        const t = out.logits(i);
        return rows(t.data, t.shape[1]);
      });
    }
    case "question-answering": {
      const out = (head as HeadsByTask["question-answering"]).forward(inputs);
      return inputs.flatMap((_, i) => [out.startLogits(i), out.endLogits(i)]);
    }
    case "fill-mask": {
      const out = (head as HeadsByTask["fill-mask"]).forward(inputs);
      return out.logits.flatMap((t) => rows(t.data, t.shape[1]));
    }
  }
}

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

export function argmaxAgreement(a: number[], b: number[]): { same: number; total: number; rate: number } {
  const same = a.filter((v, i) => v === b[i]).length;
  return { same, total: a.length, rate: a.length ? same / a.length : 1 };
}

/**
 * Which rows float32 decides: top two logits at least `fraction` of the head's logit RMS (over all
 * rows) apart. The random-weight test checkpoints have many near-ties (e.g. 0.3109 vs 0.3119), where
 * any rounding, PyTorch's own included, may flip the argmax; those rows say nothing about the kernels.
 */
export function decidedRows(rows: Float32Array[], fraction = 0.05): boolean[] {
  let sq = 0;
  let n = 0;
  for (const r of rows) for (const v of r) (sq += v * v), n++;
  const threshold = fraction * Math.sqrt(sq / Math.max(n, 1));
  return rows.map((row) => {
    let top = -Infinity;
    let second = -Infinity;
    for (const v of row) {
      if (v > top) [top, second] = [v, top];
      else if (v > second) second = v;
    }
    return row.length < 2 || top - second >= threshold;
  });
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

export interface AccuracyRow {
  model: string;
  inputs: string;
  dtype: Dtype;
  meanCosine: number;
  minCosine: number;
  /** agreement: all rows; decidedAgreement: rows float32 decides (see decided()). */
  heads: { task: HeadTask; agreement: number; decidedAgreement: number; maxLogitDiff: number }[];
}

async function compare(name: string, dir: string, inputs: ModelInput[], label: string): Promise<AccuracyRow[]> {
  const f32 = await BertModel.fromPretrained(dir, { dtype: "float32" });
  const L = f32.config.num_hidden_layers;
  const ref = pool(f32.forward(inputs), { strategy: "mean", normalize: false }, L);
  const tasks = tasksForConfig(f32.config);
  const refHeads = tasks.map((task) => headLogitRows(headForModel(task, f32), task, inputs));
  const out: AccuracyRow[] = [];
  for (const dtype of ["int8", "bf16"] as const) {
    const low = await BertModel.fromPretrained(dir, { dtype });
    const cos = cosineStats(ref, pool(low.forward(inputs), { strategy: "mean", normalize: false }, L));
    const heads = tasks.map((task, t) => {
      const rows = headLogitRows(headForModel(task, low), task, inputs);
      const keep = decidedRows(refHeads[t]);
      const pick = (rs: Float32Array[]) => rs.filter((_, i) => keep[i]).map(argmax);
      return {
        task,
        agreement: argmaxAgreement(refHeads[t].map(argmax), rows.map(argmax)).rate,
        decidedAgreement: argmaxAgreement(pick(refHeads[t]), pick(rows)).rate,
        maxLogitDiff: maxAbsDiff(refHeads[t], rows),
      };
    });
    out.push({ model: name, inputs: label, dtype, meanCosine: cos.mean, minCosine: cos.min, heads });
  }
  return out;
}

/** Every loadable model folder on its golden inputs, then `corpusModel` on the corpus. */
export async function runAccuracyBench(opts: { modelsDir: string; goldenDir: string; corpus: string; corpusModel: string; print: boolean }): Promise<AccuracyRow[]> {
  const rows: AccuracyRow[] = [];
  for (const name of readdirSync(opts.modelsDir).sort()) {
    const dir = join(opts.modelsDir, name);
    const golden = join(opts.goldenDir, `${name}.json`);
    if (!existsSync(join(dir, "config.json")) || !existsSync(golden)) continue;
    try {
      familyFor((JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { model_type: string }).model_type);
    } catch {
      continue;
    }
    const g = JSON.parse(readFileSync(golden, "utf8")) as { inputs: { input_ids: number[]; token_type_ids?: number[] | null }[] };
    const inputs = g.inputs.map((i) => ({ inputIds: i.input_ids, tokenTypeIds: i.token_type_ids ?? undefined }));
    rows.push(...(await compare(name, dir, inputs, `golden (${inputs.length})`)));
  }
  const corpusDir = join(opts.modelsDir, opts.corpusModel);
  if (existsSync(corpusDir) && existsSync(opts.corpus)) {
    const tokenizer = await loadTokenizer(corpusDir);
    const texts = readFileSync(opts.corpus, "utf8").split("\n").filter((l) => l.trim());
    const inputs = tokenizer.encodeBatch(texts, { truncation: "longest_first", maxLength: 256 }).map((e) => ({ inputIds: e.inputIds, tokenTypeIds: e.tokenTypeIds }));
    rows.push(...(await compare(opts.corpusModel, corpusDir, inputs, `corpus (${inputs.length})`)));
  }
  if (opts.print) {
    console.log("\nint8 / bf16 accuracy vs float32 (mean-pooled vectors; heads: argmax agreement on all rows / on rows float32 decides, max |logit diff|)");
    console.log("| model | inputs | dtype | mean cosine | min cosine | heads |");
    console.log("| --- | --- | --- | ---: | ---: | --- |");
    for (const r of rows) {
      const heads = r.heads.map((h) => `${h.task} ${(100 * h.agreement).toFixed(1)}% / ${(100 * h.decidedAgreement).toFixed(1)}%, ${h.maxLogitDiff.toPrecision(2)}`).join("; ") || "-";
      console.log(`| ${r.model} | ${r.inputs} | ${r.dtype} | ${r.meanCosine.toFixed(6)} | ${r.minCosine.toFixed(6)} | ${heads} |`);
    }
  }
  return rows;
}
