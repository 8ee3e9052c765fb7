/**
 * Parity checks a user can run on their own checkpoint: `verifyAgainstReference` runs the model on
 * the token ids stored in a reference file (the ../shared/golden format that scripts/make-reference.py
 * writes with PyTorch + transformers) and reports, per output kind, the largest |ours - reference|
 * and the input where it occurred; `selfCheck` needs no reference (native vs reference backend,
 * batch invariance, tokenizer round trips).
 */
import { ReferenceBackend } from "../backend/reference.js";
import { getBackend } from "../backend/index.js";
import { headForModel, type HeadTask, type LoadedHead } from "../heads/index.js";
import { BertModel } from "../models/bert/model.js";
import { pool } from "../pooling/pool.js";
import type { PoolingStrategy } from "../pooling/strategies.js";
import type { ModelInput } from "../tokenizers/encoding.js";
import { loadTokenizer } from "../tokenizers/index.js";
import { SpladeAccumulator } from "../pooling/splade.js";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { crossEncoderActivation } from "./text-ranking.js";

export interface CheckResult {
  /** Output kind ("last_hidden_state", "pooled.mean", "seqcls.logits", "input_ids", ...) or self-check name. */
  kind: string;
  /** Largest |ours - reference| over every value of every input (for ids: positions that differ). */
  maxAbsDiff: number;
  /** Index of the input with the largest difference (-1 when all agree exactly). */
  worstInput: number;
  /** Inputs compared. */
  inputs: number;
  pass: boolean;
  /** Why a check could not run (then it fails). */
  error?: string;
  /** An output kind the reference holds that bert-ts does not compare (reported, not failed). */
  skipped?: string;
}

/** A reference file's input: ids as the reference tokenizer made them, and the outputs per task. */
interface ReferenceInput {
  input: string | [string, string];
  input_ids: number[];
  token_type_ids?: number[];
  outputs: Record<string, Record<string, unknown>>;
}

export interface ReferenceFile {
  meta: { max_length?: number; truncation?: unknown };
  inputs: ReferenceInput[];
  models: Record<string, unknown>;
}

/** golden `pooled.*` keys → how bert-ts computes each. */
const POOLED_KEYS: Record<string, { strategy: PoolingStrategy; normalize: boolean }> = {
  cls: { strategy: "cls", normalize: false },
  mean: { strategy: "mean", normalize: false },
  max: { strategy: "max", normalize: false },
  mean_sqrt_len: { strategy: "mean_sqrt_len", normalize: false },
  cls_mean_concat: { strategy: "cls_mean", normalize: false },
  mean_l2_normalized: { strategy: "mean", normalize: true },
  cls_l2_normalized: { strategy: "cls", normalize: true },
};

/** The reference's task names → the head that produces them. */
const TASK_HEADS: Record<string, HeadTask> = {
  seqcls: "text-classification",
  tokcls: "token-classification",
  qa: "question-answering",
  mlm: "fill-mask",
  nsp: "next-sentence",
};

/** base outputs compared above (pooling_crosscheck is the generator's own note); other keys of `outputs.base` are reported as not checked. */
const BASE_KEYS = new Set(["last_hidden_state", "pooler_output", "pooled", "pooling_crosscheck"]);

/** Accumulates |diff| per kind across inputs. */
class DiffTable {
  private readonly rows = new Map<string, { max: number; worst: number; inputs: number; error?: string }>();

  add(kind: string, input: number, ours: ArrayLike<number>, reference: unknown): void {
    const row = this.row(kind);
    row.inputs++;
    const ref = flatten(reference);
    let d = ours.length === ref.length ? 0 : Infinity;
    for (let i = 0; i < Math.min(ours.length, ref.length); i++) {
      const x = Math.abs(ours[i] - ref[i]);
      // NaN on either side is a difference, never a pass.
      d = Number.isNaN(x) ? Infinity : Math.max(d, x);
    }
    if (d > row.max) {
      row.max = d;
      row.worst = input;
    }
  }

  fail(kind: string, error: string): void {
    this.row(kind).error = error;
  }

  results(tolerance: number, exactKinds: ReadonlySet<string>): CheckResult[] {
    return [...this.rows].map(([kind, r]) => ({
      kind,
      maxAbsDiff: r.max,
      worstInput: r.worst,
      inputs: r.inputs,
      pass: r.error === undefined && r.max <= (exactKinds.has(kind) ? 0 : tolerance),
      ...(r.error !== undefined ? { error: r.error } : {}),
    }));
  }

  private row(kind: string) {
    let r = this.rows.get(kind);
    if (!r) this.rows.set(kind, (r = { max: 0, worst: -1, inputs: 0 }));
    return r;
  }
}

function flatten(x: unknown): number[] {
  if (typeof x === "number") return [x];
  if (x === null) return [NaN];
  if (Array.isArray(x)) return x.flatMap(flatten);
  throw new Error(`Expected numbers in the reference but found ${JSON.stringify(x)?.slice(0, 40)}`);
}

/** Checks a parsed reference file's shape enough to name what is wrong in it. */
export function checkReferenceFile(value: unknown, source: string): ReferenceFile {
  const r = value as Partial<ReferenceFile> | null;
  if (typeof r !== "object" || r === null || !Array.isArray(r.inputs) || typeof r.models !== "object" || r.models === null) {
    throw new Error(`${source}: expected a reference file ({"meta", "inputs": [...], "models": {...}}, as scripts/make-reference.py writes)`);
  }
  r.inputs.forEach((inp, i) => {
    if (!Array.isArray(inp?.input_ids) || typeof inp.outputs !== "object" || inp.outputs === null) {
      throw new Error(`${source}: inputs[${i}] needs "input_ids" and "outputs"`);
    }
  });
  return { meta: r.meta ?? {}, inputs: r.inputs, models: r.models };
}

/** Runs the model folder on the reference's inputs and compares every output kind it holds. */
export async function verifyAgainstReference(dir: string, reference: ReferenceFile, tolerance = 1e-4): Promise<CheckResult[]> {
  const [model, tokenizer] = await Promise.all([BertModel.fromPretrained(dir), loadTokenizer(dir)]);
  const table = new DiffTable();
  const inputs: ModelInput[] = reference.inputs.map((r) => ({ inputIds: r.input_ids, tokenTypeIds: r.token_type_ids }));

  // Tokenizer: the same ids from the same text, truncated as the reference was.
  const maxLength = reference.meta.max_length;
  reference.inputs.forEach((r, i) => {
    const [a, b] = typeof r.input === "string" ? [r.input, null] : r.input;
    const enc = tokenizer.encode(a, b, { truncation: true, maxLength });
    const same = enc.inputIds.length === r.input_ids.length && enc.inputIds.every((id, k) => id === r.input_ids[k]);
    table.add("input_ids", i, [same ? 0 : 1], [0]);
  });

  const numLayers = model.config.num_hidden_layers;
  // A pooler transformers initialised at random (not in the checkpoint) is nothing to compare with.
  const baseInfo = reference.models.base as { pooler_from_checkpoint?: boolean } | undefined;
  const comparePooler = baseInfo?.pooler_from_checkpoint !== false;
  const withBase = reference.inputs.map((r, i) => ({ r, i })).filter(({ r }) => r.outputs.base !== undefined);
  for (const { r, i } of withBase) {
    const out = model.forward(inputs[i]);
    const base = r.outputs.base;
    table.add("last_hidden_state", i, out.sequence(0).data, base.last_hidden_state);
    if (base.pooler_output !== undefined && comparePooler) {
      if (model.hasPooler) table.add("pooler_output", i, out.poolerOutput.row(0), base.pooler_output);
      else table.fail("pooler_output", "the checkpoint has no pooler weights");
    }
    for (const [key, ref] of Object.entries((base.pooled ?? {}) as Record<string, unknown>)) {
      const how = Object.hasOwn(POOLED_KEYS, key) ? POOLED_KEYS[key] : undefined;
      if (how) table.add(`pooled.${key}`, i, pool(out, how, numLayers)[0], ref);
    }
  }

  for (const [task, head] of Object.entries(TASK_HEADS)) {
    const withTask = reference.inputs.map((r, i) => ({ r, i })).filter(({ r }) => r.outputs[task] !== undefined);
    if (withTask.length === 0) continue;
    let built: LoadedHead;
    try {
      built = { task: head, head: headForModel(head, model) } as LoadedHead;
    } catch (err) {
      table.fail(`${task}.logits`, err instanceof Error ? err.message : String(err));
      continue;
    }
    for (const { r, i } of withTask) {
      const ref = r.outputs[task];
      if (built.task === "text-classification" || built.task === "next-sentence") {
        table.add(`${task}.logits`, i, built.head.forward(inputs[i]).logits.data, ref.logits);
      } else if (built.task === "token-classification") {
        table.add(`${task}.logits`, i, built.head.forward(inputs[i]).logits(0).data, ref.logits);
      } else if (built.task === "question-answering") {
        const o = built.head.forward(inputs[i]);
        table.add(`${task}.start_logits`, i, o.startLogits(0), ref.start_logits);
        table.add(`${task}.end_logits`, i, o.endLogits(0), ref.end_logits);
      } else {
        const positions = (ref.mask_positions ?? []) as number[];
        if (positions.length === 0) continue;
        const o = built.head.forward([inputs[i]], { positions: [positions] });
        table.add(`${task}.mask_position_logits`, i, o.logits[0].data, ref.mask_position_logits);
      }
    }
  }
  await compareRerank(dir, model, reference, inputs, table);
  compareSplade(model, reference, inputs, table);

  // Say what the reference holds that was not compared, so a pass never hides an unchecked output.
  const known = new Set(["base", "rerank", "splade", ...Object.keys(TASK_HEADS)]);
  const skipped = new Map<string, string>();
  for (const r of reference.inputs) {
    for (const [task, out] of Object.entries(r.outputs)) {
      if (!known.has(task)) skipped.set(task, "an output kind bert-ts verify does not know");
      else if (task === "base") for (const key of Object.keys(out)) if (!BASE_KEYS.has(key)) skipped.set(`base.${key}`, "not compared by bert-ts verify");
    }
    for (const key of Object.keys((r.outputs.base?.pooled ?? {}) as Record<string, unknown>)) {
      if (!Object.hasOwn(POOLED_KEYS, key)) skipped.set(`pooled.${key}`, "a pooling bert-ts verify does not map");
    }
  }
  const results = table.results(tolerance, new Set(["input_ids", "splade.indices"]));
  for (const [kind, why] of skipped) results.push({ kind, maxAbsDiff: 0, worstInput: -1, inputs: 0, pass: true, skipped: why });
  return results;
}

const withOutput = (reference: ReferenceFile, task: string) => reference.inputs.map((r, i) => ({ r, i })).filter(({ r }) => r.outputs[task] !== undefined);

/** A cross-encoder's pair logit (`score`) and sentence-transformers' CrossEncoder activation of it (`sigmoid`). */
async function compareRerank(dir: string, model: BertModel, reference: ReferenceFile, inputs: ModelInput[], table: DiffTable): Promise<void> {
  const pairs = withOutput(reference, "rerank");
  if (pairs.length === 0) return;
  let head;
  try {
    head = headForModel("text-classification", model);
    if (head.numLabels !== 1) throw new Error(`a cross-encoder has one output; this checkpoint has ${head.numLabels}`);
    const file = join(dir, "config.json");
    crossEncoderActivation(JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>, 1, file);
  } catch (err) {
    table.fail("rerank.score", err instanceof Error ? err.message : String(err));
    return;
  }
  for (const { r, i } of pairs) {
    const logit = head.forward(inputs[i]).logits.data[0];
    const ref = r.outputs.rerank;
    table.add("rerank.score", i, [logit], ref.score);
    if (ref.sigmoid !== undefined) table.add("rerank.sigmoid", i, [1 / (1 + Math.exp(-logit))], ref.sigmoid);
  }
}

/**
 * SPLADE vectors (max over tokens of log(1 + relu(MLM logits))): the non-zero indices must be the
 * same (count of differing ones), the values within tolerance (compared densely over both sets).
 */
function compareSplade(model: BertModel, reference: ReferenceFile, inputs: ModelInput[], table: DiffTable): void {
  const items = withOutput(reference, "splade");
  if (items.length === 0) return;
  let head;
  try {
    head = headForModel("fill-mask", model);
  } catch (err) {
    table.fail("splade.values", err instanceof Error ? err.message : String(err));
    return;
  }
  for (const { r, i } of items) {
    const ref = r.outputs.splade.splade as { indices: number[]; values: number[] } | undefined;
    if (!ref || !Array.isArray(ref.indices) || !Array.isArray(ref.values)) {
      table.fail("splade.values", `inputs[${i}].outputs.splade.splade needs "indices" and "values"`);
      continue;
    }
    const encoded = model.forward(inputs[i]);
    const acc = new SpladeAccumulator(encoded.seqStarts, head.vocabSize);
    head.forEachLogitBlock(encoded.hidden, encoded.seqStarts[encoded.batchSize], "relu", (block) => acc.add(block));
    const [ours] = acc.vectors();
    const mine = new Map<number, number>();
    ours.indices.forEach((ix, k) => mine.set(ix, ours.values[k]));
    const theirs = new Map<number, number>();
    ref.indices.forEach((ix, k) => theirs.set(ix, ref.values[k]));
    const union = [...new Set([...mine.keys(), ...theirs.keys()])].sort((a, b) => a - b);
    const differing = union.filter((ix) => !mine.has(ix) || !theirs.has(ix)).length;
    table.add("splade.indices", i, [differing], [0]);
    table.add("splade.values", i, union.map((ix) => mine.get(ix) ?? 0), union.map((ix) => theirs.get(ix) ?? 0));
  }
}

/** Texts the self-checks run: ASCII, accents, CJK, an emoji, a pair, and a long line. */
const SELF_CHECK_TEXTS: (string | [string, string])[] = [
  "Hello, world!",
  "Café naïve résumé, déjà vu.",
  "今天天气很好",
  "I love 🍕 and tokenizers' [MASK] edge-cases!!",
  ["How old are you?", "I am six years old."],
  "The quick brown fox jumps over the lazy dog. ".repeat(12).trim(),
];

/**
 * Checks without a reference: the native kernels against the TypeScript reference backend (within
 * tolerance), batch invariance (each input alone equals it in one batch, bit for bit), and tokenizer
 * round trips (decode(encode(x)) encodes back to the same ids).
 */
export async function selfCheck(dir: string, tolerance = 1e-4): Promise<CheckResult[]> {
  const tokenizer = await loadTokenizer(dir);
  const encodings = SELF_CHECK_TEXTS.map((t) => (typeof t === "string" ? tokenizer.encode(t) : tokenizer.encode(t[0], t[1])));
  const backend = getBackend();
  const model = await BertModel.fromPretrained(dir, { backend });
  const results: CheckResult[] = [];

  const oracle = backend instanceof ReferenceBackend ? undefined : await BertModel.fromPretrained(dir, { backend: new ReferenceBackend() });
  if (oracle) {
    const table = new DiffTable();
    encodings.forEach((e, i) => table.add("native_vs_reference_backend", i, model.forward(e).sequence(0).data, Array.from(oracle.forward(e).sequence(0).data)));
    results.push(...table.results(tolerance, new Set()));
  } else {
    results.push({ kind: "native_vs_reference_backend", maxAbsDiff: 0, worstInput: -1, inputs: 0, pass: false, error: `the native backend is not in use (${backend.name})` });
  }

  const batch = model.forward(encodings);
  const invariance = new DiffTable();
  encodings.forEach((e, i) => invariance.add("batch_invariance", i, model.forward(e).sequence(0).data, Array.from(batch.sequence(i).data)));
  results.push(...invariance.results(tolerance, new Set(["batch_invariance"])));

  const roundTrip = new DiffTable();
  encodings.forEach((e, i) => {
    const again = tokenizer.encode(tokenizer.decode(e.inputIds, { skipSpecialTokens: false }), null, { addSpecialTokens: false });
    const same = again.inputIds.length === e.inputIds.length && again.inputIds.every((id, k) => id === e.inputIds[k]);
    roundTrip.add("tokenizer_round_trip", i, [same ? 0 : 1], [0]);
  });
  results.push(...roundTrip.results(tolerance, new Set(["tokenizer_round_trip"])));
  return results;
}
