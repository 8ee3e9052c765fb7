/**
 * How a task head takes its tensors from the model's checkpoint, and the load report it gives:
 * - every head tensor is looked up first, and all the absent ones are named in one error (with the
 *   checkpoint's declared architectures, which usually explain why);
 * - the report matches Hugging Face's `output_loading_info` for that head class: the base model's
 *   missing/unexpected keys, minus what the head consumed, with the pooler counted as unexpected
 *   for heads built without one (BertForMaskedLM, RoBERTa classifiers), as Hugging Face does.
 */
import { CheckpointError, type LoadReport } from "../models/checkpoint.js";
import type { BertModel } from "../models/bert/model.js";

export interface TensorSpec {
  /** Full Hugging Face name, e.g. "classifier.weight". */
  name: string;
  shape: readonly number[];
}

export class HeadWeightsError extends CheckpointError {
  constructor(
    message: string,
    /** The tensors the head needed and the checkpoint lacks. */
    readonly missing: string[],
  ) {
    super(message);
    this.name = "HeadWeightsError";
  }
}

/** The base model's report, taken once per model before any head consumed tensors. */
const baseReports = new WeakMap<BertModel, LoadReport>();

/** Call before reading head tensors, so several heads on one model each get their own report. */
export function rememberBaseReport(model: BertModel): LoadReport {
  let r = baseReports.get(model);
  if (!r) {
    r = model.loadReport;
    baseReports.set(model, r);
  }
  return r;
}

/** Reads the head's tensors; throws one HeadWeightsError naming every absent one. */
export function readHeadTensors<K extends string>(
  model: BertModel,
  headClass: string,
  specs: Record<K, TensorSpec>,
): Record<K, Float32Array> {
  rememberBaseReport(model);
  const out = {} as Record<K, Float32Array>;
  const missing: TensorSpec[] = [];
  for (const key of Object.keys(specs) as K[]) {
    const spec = specs[key];
    const t = model.checkpoint.optional(spec.name, spec.shape);
    if (t) out[key] = t;
    else missing.push(spec);
  }
  if (missing.length > 0) {
    for (const m of missing) model.checkpoint.noteMissing(m.name);
    throw missingError(model, headClass, missing);
  }
  return out;
}

/** For heads that read the pooled output: a checkpoint without pooler weights cannot serve them. */
export function requirePooler(model: BertModel, headClass: string): void {
  if (model.hasPooler) return;
  const p = `${model.checkpoint.basePrefix}${model.family.pooler ?? "pooler.dense"}`;
  const h = model.config.hidden_size;
  throw missingError(model, headClass, [
    { name: `${p}.weight`, shape: [h, h] },
    { name: `${p}.bias`, shape: [h] },
  ]);
}

function missingError(model: BertModel, headClass: string, missing: TensorSpec[]): HeadWeightsError {
  const where = model.dir ?? "the checkpoint";
  const list = missing.map((m) => `${m.name} [${m.shape.join(", ")}]`).join(", ");
  const archs = model.config.architectures;
  const declared = archs.length > 0 ? `its config.json declares ${archs.join(", ")}` : "its config.json declares no architectures";
  return new HeadWeightsError(
    `Cannot build ${headClass} from ${where}: missing weight${missing.length > 1 ? "s" : ""} ${list} (${declared}; ` +
      `the head weights are not in this checkpoint — use a model fine-tuned for this task)`,
    missing.map((m) => m.name),
  );
}

/** Strips legacy LayerNorm names so file names compare with Hugging Face's. */
function canonical(name: string): string {
  return name.replace(/\.gamma$/, ".weight").replace(/\.beta$/, ".bias");
}

/**
 * The report Hugging Face gives for this head: base report minus the head's tensors; when the head
 * class has no pooler, the pooler's stored tensors become unexpected and its absence is not missing.
 */
export function headLoadReport(model: BertModel, headTensors: readonly string[], usesPooler: boolean): LoadReport {
  const base = rememberBaseReport(model);
  const consumed = new Set(headTensors);
  const pooler = model.family.pooler;
  const poolerTensors = pooler === undefined ? [] : [`${pooler}.weight`, `${pooler}.bias`];
  const poolerNames = new Set(poolerTensors.map((n) => model.checkpoint.basePrefix + n));
  const unexpected = base.unexpectedKeys.filter((n) => !consumed.has(canonical(n)));
  let missing = [...base.missingKeys];
  if (!usesPooler) {
    missing = missing.filter((n) => !poolerNames.has(n));
    for (const n of poolerTensors) {
      if (model.checkpoint.hasBase(n)) unexpected.push(model.checkpoint.basePrefix + n);
    }
  }
  return { missingKeys: [...new Set(missing)].sort(), unexpectedKeys: [...new Set(unexpected)].sort() };
}
