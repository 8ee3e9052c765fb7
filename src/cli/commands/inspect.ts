/**
 * `bert-ts inspect MODEL`: what a model folder holds and how bert-ts will use it — config, the
 * parameters actually stored, weight files and their stored dtypes, tokenizer, default pooling and
 * where it comes from, the task heads the checkpoint carries, the load report, whether the weights
 * are random test weights, and the compute backend. Readable by default; --format json for programs.
 */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { getBackend } from "../../backend/index.js";
import type { BertConfig } from "../../config/bert-config.js";
import { headForModel, tasksForConfig, type HeadTask } from "../../heads/index.js";
import { readModelText } from "../../io/model-files.js";
import { loadWeights, type WeightStore } from "../../io/weights.js";
import { BertModel, readConfig } from "../../models/bert/model.js";
import type { LoadReport } from "../../models/checkpoint.js";
import { familyFor } from "../../models/registry.js";
import { readDefaultPooling } from "../../pooling/defaults.js";
import { modulesDimension } from "../../pooling/st-modules.js";
import { loadTokenizer } from "../../tokenizers/index.js";
import { resolveModelForCli } from "../model-arg.js";
import { CliError, formatTable, OutputSink } from "../io.js";

interface InspectFlags {
  format?: string;
  output?: string;
  files: boolean;
}

/** safetensors dtype names → the torch names people know. */
const DTYPE_NAMES: Record<string, string> = {
  F64: "float64", F32: "float32", F16: "float16", BF16: "bfloat16", I64: "int64", I32: "int32",
  I16: "int16", I8: "int8", U64: "uint64", U32: "uint32", U16: "uint16", U8: "uint8", BOOL: "bool",
};

type HeadKind = "sequence-classification" | "token-classification" | "masked-lm" | "next-sentence" | "question-answering" | "unknown";

const HEAD_NAMES: Record<HeadKind, string> = {
  "sequence-classification": "sequence classifier",
  "token-classification": "token classifier",
  "masked-lm": "masked language model (MLM)",
  "next-sentence": "next-sentence prediction (NSP)",
  "question-answering": "extractive question answering (QA)",
  unknown: "unrecognised tensors",
};

interface HeadInfo {
  kind: HeadKind;
  name: string;
  tensors: string[];
  parameters: number;
  num_labels?: number;
  labels?: string[];
  problem_type?: string | null;
  note?: string;
}

export interface InspectReport {
  model: { name: string; dir: string; source: string };
  config: Record<string, unknown>;
  /** null for a folder without weights (config and tokenizer only). */
  parameters: { total: number; embeddings: number; encoder: number; pooler: number; heads: number } | null;
  weights: { files: { file: string; bytes: number }[]; total_bytes: number; tensors: number; dtype: string; dtypes: Record<string, number> } | null;
  tokenizer: { kind: string; file: string | null; vocab_size: number | null; model_max_length: number | null; error?: string };
  pooling: { strategy: string; normalize: boolean; source: string; max_length: number | null; dimension: number } | { error: string };
  heads: HeadInfo[];
  pooler: boolean;
  tasks: HeadTask[];
  load_report: { as: string; missing_keys: string[]; unexpected_keys: string[]; errors: string[]; note?: string } | null;
  random_weights: boolean;
  generated?: unknown;
  backend: string;
  files: { file: string; bytes: number; role: string }[];
}

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("Describe a model: config, parameters, weight files and dtypes, tokenizer, default pooling, heads, load report")
    .argument("<model>", "model folder or Hugging Face id")
    .option("-f, --format <format>", "text (readable, the default) or json (one object; jsonl is accepted too)")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .option("--no-files", "leave out the list of every file in the folder (text output)")
    .addHelpText(
      "after",
      `
What it reports:
  config       architectures, model_type, hidden size, layers, attention heads, intermediate
               size, vocabulary, activation, max positions, labels
  parameters   the sum of the sizes of the tensors stored in the weight files (what is loaded;
               a tied MLM decoder is not stored, so not counted), split embeddings/encoder/pooler/heads
  weights      the weight files read, their sizes, and the dtype(s) they store (float16, bfloat16...)
  tokenizer    WordPiece or BPE, from which file, vocabulary size, length limit
  pooling      the default sentence-vector recipe and where it comes from
               (sentence-transformers modules.json, BERT's pooler, or the raw first token)
  heads        classifier (with labels), MLM, NSP, QA, token classifier — from the tensor names
               and config.json architectures
  load report  missing / unexpected tensors when loaded as the declared architecture
  random       whether GENERATED.json marks seeded random test weights
  backend      the compute backend bert-ts would use here (native or the TypeScript reference)

Examples:
  $ bert-ts inspect ./models/my-bert
  $ bert-ts inspect sentence-transformers/all-MiniLM-L6-v2
  $ bert-ts inspect ./models/my-bert --format json | jq .parameters.total`,
    )
    .action(async (model: string, flags: InspectFlags) => runInspect(model, flags));
}

async function runInspect(name: string, flags: InspectFlags): Promise<void> {
  const format = flags.format ?? "text";
  if (!["text", "json", "jsonl"].includes(format)) throw new CliError(`Unknown --format ${JSON.stringify(format)}: expected text or json`);
  const report = await inspectModel(name);
  const sink = new OutputSink(flags.output);
  try {
    sink.write(format === "text" ? renderReport(report, flags.files) : JSON.stringify(report, null, format === "json" ? 2 : undefined) + "\n");
  } catch (err) {
    await sink.discard();
    throw err;
  }
  await sink.close();
}

export async function inspectModel(name: string): Promise<InspectReport> {
  // A folder given by path with config and tokenizer but no weights is described too (it can still
  // tokenize); a hub id must resolve to a whole model, so `inspect org/name` says where it looked.
  const resolved = await resolveModelForCli(name);
  const dir = resolved.dir;
  if (!existsSync(join(dir, "config.json"))) throw new CliError(`${dir} has no config.json: not a model folder`);
  const config = await readConfig(dir);
  const family = familyFor(config.model_type);
  if (!WEIGHT_FILES.some((f) => existsSync(join(dir, f)))) return inspectWithoutWeights(name, resolved.source, dir, config);
  const store = await loadWeights(dir);
  const backend = getBackend();
  const model = BertModel.fromWeights(config, store, backend, dir);

  const parts = countParameters(store, family.basePrefix);
  const heads = describeHeads(store, config, family.basePrefix);
  const tasks = tasksForConfig(config);
  const loadReport = reportAsArchitecture(model, tasks);
  const tokenizer = await describeTokenizer(dir);
  const generatedPath = join(dir, "GENERATED.json");
  const random = existsSync(generatedPath);

  let pooling: InspectReport["pooling"];
  try {
    const d = await readDefaultPooling(dir, model.hasPooler, family.defaultPooling);
    // The same limit SentenceEncoder applies: positions the model has, and the tokenizer's limit.
    const positions = config.max_position_embeddings - (family.positionRule === "roberta" ? config.pad_token_id + 1 : 0);
    const limit = Math.min(positions, tokenizer.model_max_length ?? positions);
    pooling = {
      strategy: d.strategy,
      normalize: d.normalize,
      source: d.source,
      max_length: Math.min(d.maxSeqLength ?? limit, limit),
      dimension: d.modules ? modulesDimension(d.modules, config.hidden_size) : d.strategy === "cls_mean" ? 2 * config.hidden_size : config.hidden_size,
    };
  } catch (err) {
    pooling = { error: (err as Error).message };
  }

  const dtypes: Record<string, number> = {};
  for (const n of store.names()) {
    const t = store.get(n);
    if (t) dtypes[DTYPE_NAMES[t.dtype] ?? t.dtype] = (dtypes[DTYPE_NAMES[t.dtype] ?? t.dtype] ?? 0) + 1;
  }
  const weightFiles = await Promise.all(store.files.map(async (f) => ({ file: relative(dir, f), bytes: (await stat(f)).size })));
  return {
    model: { name, dir, source: resolved.source },
    config: describeConfig(config),
    parameters: parts,
    weights: {
      files: weightFiles,
      total_bytes: store.totalBytes,
      tensors: store.size,
      dtype: Object.keys(dtypes).join(", "),
      dtypes,
    },
    tokenizer,
    pooling,
    heads,
    pooler: model.hasPooler,
    tasks,
    load_report: loadReport,
    random_weights: random,
    ...(random ? { generated: await readJsonOrText(generatedPath) } : {}),
    backend: backend.name,
    files: await listFiles(dir, new Set(store.files)),
  };
}

function describeConfig(config: BertConfig): Record<string, unknown> {
  const family = familyFor(config.model_type);
  return {
    architectures: config.architectures,
    model_type: config.model_type,
    hidden_size: config.hidden_size,
    num_hidden_layers: config.num_hidden_layers,
    num_attention_heads: config.num_attention_heads,
    intermediate_size: config.intermediate_size,
    vocab_size: config.vocab_size,
    hidden_act: config.hidden_act,
    max_position_embeddings: config.max_position_embeddings,
    type_vocab_size: config.type_vocab_size,
    layer_norm_eps: config.layer_norm_eps,
    ...(config.embedding_size !== config.hidden_size ? { embedding_size: config.embedding_size } : {}),
    ...(family.positionBias ? { relative_attention_num_buckets: config.relative_attention_num_buckets } : {}),
    ...(Object.keys(config.id2label).length > 0 ? { id2label: config.id2label } : {}),
    ...(config.problem_type !== null ? { problem_type: config.problem_type } : {}),
  };
}

/** What loadWeights looks for (io/weights.ts); none of them means a tokenizer-and-config folder. */
const WEIGHT_FILES = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"];

/** Config, tokenizer and the pooling recipe of a folder that holds no weights. */
async function inspectWithoutWeights(name: string, source: string, dir: string, config: BertConfig): Promise<InspectReport> {
  const family = familyFor(config.model_type);
  const tokenizer = await describeTokenizer(dir);
  let pooling: InspectReport["pooling"];
  try {
    // Without weights there is no pooler to find: the recipe is the folder's modules, else the family's.
    const d = await readDefaultPooling(dir, false, family.defaultPooling);
    pooling = {
      strategy: d.strategy,
      normalize: d.normalize,
      source: d.source,
      max_length: d.maxSeqLength ?? tokenizer.model_max_length,
      dimension: d.modules ? modulesDimension(d.modules, config.hidden_size) : config.hidden_size,
    };
  } catch (err) {
    pooling = { error: (err as Error).message };
  }
  return {
    model: { name, dir, source },
    config: describeConfig(config),
    parameters: null,
    weights: null,
    tokenizer,
    pooling,
    heads: [],
    pooler: false,
    tasks: [],
    load_report: null,
    random_weights: existsSync(join(dir, "GENERATED.json")),
    backend: getBackend().name,
    files: await listFiles(dir, new Set()),
  };
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Base-model part a tensor belongs to, or "heads" (ELECTRA's embeddings_project counts as embeddings, DistilBERT's transformer.* as encoder). */
function partOf(name: string, basePrefix: string): "embeddings" | "encoder" | "pooler" | "heads" {
  const bare = name.startsWith(`${basePrefix}.`) ? name.slice(basePrefix.length + 1) : name;
  if (bare.startsWith("embeddings")) return "embeddings";
  if (bare.startsWith("encoder.") || bare.startsWith("transformer.")) return "encoder";
  if (bare.startsWith("pooler.")) return "pooler";
  return "heads";
}

function countParameters(store: WeightStore, basePrefix: string): InspectReport["parameters"] {
  const parts = { total: 0, embeddings: 0, encoder: 0, pooler: 0, heads: 0 };
  for (const n of store.names()) {
    const t = store.get(n);
    if (!t) continue;
    const count = elements(t.shape);
    parts.total += count;
    parts[partOf(n, basePrefix)] += count;
  }
  return parts;
}

/** Head kind of a non-base tensor, from its name (and, for "classifier.*", the architectures). */
function headKindOf(name: string, config: BertConfig): HeadKind {
  const mlm = familyFor(config.model_type).maskedLM;
  if (name.startsWith("cls.predictions.") || name.startsWith("lm_head.") || [mlm.dense, mlm.norm, mlm.decoder].some((p) => name.startsWith(`${p}.`)) || name === mlm.bias) {
    return "masked-lm";
  }
  if (name.startsWith("cls.seq_relationship.")) return "next-sentence";
  if (name.startsWith("qa_outputs.")) return "question-answering";
  if (name.startsWith("classifier.") || name.startsWith("pre_classifier.")) {
    // BERT's sequence and token classifiers share the name "classifier"; only the class tells them apart.
    if (config.architectures.some((a) => a.endsWith("ForTokenClassification"))) return "token-classification";
    return "sequence-classification";
  }
  return "unknown";
}

function describeHeads(store: WeightStore, config: BertConfig, basePrefix: string): HeadInfo[] {
  const byKind = new Map<HeadKind, HeadInfo>();
  for (const n of store.names()) {
    if (partOf(n, basePrefix) !== "heads") continue;
    const t = store.get(n);
    if (!t) continue;
    const kind = headKindOf(n, config);
    let head = byKind.get(kind);
    if (!head) byKind.set(kind, (head = { kind, name: HEAD_NAMES[kind], tensors: [], parameters: 0 }));
    head.tensors.push(n);
    head.parameters += elements(t.shape);
  }
  for (const head of byKind.values()) {
    head.tensors.sort();
    if (head.kind === "sequence-classification" || head.kind === "token-classification") {
      // The output layer's rows are the labels: classifier.weight, or RoBERTa's classifier.out_proj.weight.
      const out = store.get("classifier.out_proj.weight") ?? store.get("classifier.weight");
      const numLabels = out?.shape[0] ?? Object.keys(config.id2label).length;
      head.num_labels = numLabels;
      head.labels = Array.from({ length: numLabels }, (_, i) => config.id2label[i] ?? `LABEL_${i}`);
      if (head.kind === "sequence-classification") head.problem_type = config.problem_type;
      if (!config.architectures.some((a) => /For(Sequence|Token)Classification$/.test(a))) {
        head.note = "config.json architectures do not say whether this classifier is per sequence or per token";
      }
    }
    if (head.kind === "masked-lm" && !head.tensors.some((t) => t.endsWith("decoder.weight"))) {
      head.note = "output projection tied to the word embeddings (not stored)";
    }
  }
  const declared = config.architectures;
  const expect: Array<[RegExp, HeadKind]> = [
    [/ForSequenceClassification$/, "sequence-classification"],
    [/ForTokenClassification$/, "token-classification"],
    [/For(MaskedLM|PreTraining)$/, "masked-lm"],
    [/For(NextSentencePrediction|PreTraining)$/, "next-sentence"],
    [/ForQuestionAnswering$/, "question-answering"],
  ];
  for (const [re, kind] of expect) {
    if (declared.some((a) => re.test(a)) && !byKind.has(kind)) {
      byKind.set(kind, { kind, name: HEAD_NAMES[kind], tensors: [], parameters: 0, note: `declared by config.json (${declared.join(", ")}) but its weights are not in the checkpoint` });
    }
  }
  return [...byKind.values()];
}

/** Missing/unexpected tensors when loaded as the declared architecture, as Hugging Face reports them. */
function reportAsArchitecture(model: BertModel, tasks: readonly HeadTask[]): InspectReport["load_report"] {
  const errors: string[] = [];
  const loaded: { loadReport: LoadReport }[] = [];
  for (const task of tasks) {
    try {
      loaded.push(headForModel(task, model));
    } catch (err) {
      errors.push(`${task}: ${(err as Error).message}`);
    }
  }
  const as = loaded.length > 0 ? model.config.architectures.join(", ") : `${model.family.className}Model (encoder only)`;
  // One head: its own report (HF's, pooler rules included); several: what none of them used.
  const report = loaded.length === 1 ? loaded[0].loadReport : model.loadReport;
  const declared = model.config.architectures.filter((a) => !/(Bert|Roberta)Model$/.test(a));
  const note = tasks.length === 0 && declared.length > 0 ? `bert-ts has no head for ${declared.join(", ")} yet, so this is the bare encoder's report` : undefined;
  return { as, missing_keys: report.missingKeys, unexpected_keys: report.unexpectedKeys, errors, ...(note ? { note } : {}) };
}

async function describeTokenizer(dir: string): Promise<InspectReport["tokenizer"]> {
  let kind = "none";
  let file: string | null = null;
  if (existsSync(join(dir, "tokenizer.json"))) {
    file = "tokenizer.json";
    try {
      const json = JSON.parse(await readModelText(join(dir, file))) as { model?: { type?: unknown } };
      kind = typeof json.model?.type === "string" ? json.model.type : "unknown";
    } catch {
      kind = "unreadable";
    }
  } else if (existsSync(join(dir, "vocab.txt"))) {
    [kind, file] = ["WordPiece", "vocab.txt"];
  } else if (existsSync(join(dir, "vocab.json")) && existsSync(join(dir, "merges.txt"))) {
    [kind, file] = ["BPE", "vocab.json + merges.txt"];
  }
  try {
    const tok = await loadTokenizer(dir);
    return { kind, file, vocab_size: tok.vocabSize, model_max_length: tok.modelMaxLength };
  } catch (err) {
    let vocabSize: number | null = null;
    if (existsSync(join(dir, "vocab.json"))) {
      try {
        vocabSize = Object.keys(JSON.parse(await readModelText(join(dir, "vocab.json"))) as object).length;
      } catch {
        vocabSize = null;
      }
    }
    return { kind, file, vocab_size: vocabSize, model_max_length: null, error: (err as Error).message };
  }
}

async function readJsonOrText(path: string): Promise<unknown> {
  const text = await readModelText(path);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Every file two levels deep, with what bert-ts does with it. */
async function listFiles(dir: string, weightFiles: ReadonlySet<string>): Promise<InspectReport["files"]> {
  const out: InspectReport["files"] = [];
  async function walk(folder: string, depth: number): Promise<void> {
    for (const e of (await readdir(folder, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(folder, e.name);
      const st = await stat(path).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) {
        if (depth < 1 && !e.name.startsWith(".")) await walk(path, depth + 1);
        continue;
      }
      out.push({ file: relative(dir, path), bytes: st.size, role: roleOf(relative(dir, path), weightFiles.has(path)) });
    }
  }
  await walk(dir, 0);
  return out;
}

function roleOf(file: string, isWeights: boolean): string {
  if (isWeights) return "weights (loaded)";
  const name = basename(file);
  if (name === "config.json" && file === name) return "model config";
  if (name.endsWith(".index.json")) return "weights index";
  if (["tokenizer.json", "vocab.txt", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"].includes(name)) return "tokenizer";
  if (["modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"].includes(name) || file.startsWith("1_Pooling")) return "sentence-transformers";
  if (/\.(safetensors|bin|onnx|h5|msgpack|ot)$/.test(name)) return "weights (not used)";
  if (name === "GENERATED.json") return "test-model marker";
  return "";
}

function human(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

function short(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n);
}

export function renderReport(r: InspectReport, withFiles = true): string {
  const c = r.config as Record<string, unknown> & { architectures: string[]; id2label?: Record<string, string> };
  const hidden = Number(c.hidden_size);
  const heads = Number(c.num_attention_heads);
  const rows: [string, string][] = [];
  rows.push(["model", `${r.model.dir}${r.model.source === "path" ? "" : ` (${r.model.name}, from ${r.model.source})`}`]);
  rows.push(["architecture", `${c.architectures.length > 0 ? c.architectures.join(", ") : "(none declared)"}; model_type ${c.model_type}`]);
  const family = familyFor(String(c.model_type));
  // ELECTRA/ALBERT: narrower embeddings projected to hidden.
  const embeddingSize = c.embedding_size !== undefined ? `, embeddings ${c.embedding_size} → ${hidden}` : "";
  rows.push(["size", `hidden ${hidden}, layers ${c.num_hidden_layers}, attention heads ${heads} (head dim ${hidden / heads}), intermediate ${c.intermediate_size}, vocab ${c.vocab_size}${embeddingSize}`]);
  const eps = Number(c.layer_norm_eps);
  const types = family.embeddings.tokenTypes ? `token types ${c.type_vocab_size}` : "no token types";
  const bias = family.positionBias ? `; relative attention bias (${c.relative_attention_num_buckets} buckets)` : "";
  rows.push(["activation", `${c.hidden_act}; max positions ${c.max_position_embeddings}; ${types}${bias}; layer norm eps ${eps < 1e-3 ? eps.toExponential() : eps}`]);
  const p = r.parameters;
  if (p) {
    const split = (["embeddings", "encoder", "pooler", "heads"] as const).filter((k) => p[k] > 0).map((k) => `${k} ${short(p[k])}`);
    rows.push(["parameters", `${count(p.total)} (${split.join(", ")})`]);
  }
  if (r.weights) {
    const files = r.weights.files.map((f) => `${f.file} ${human(f.bytes)}`).join(", ");
    const dtypes = Object.entries(r.weights.dtypes).map(([d, n]) => `${d} ×${n}`).join(", ");
    rows.push(["weights", `${files}; ${r.weights.tensors} tensors stored as ${dtypes}`]);
  } else {
    rows.push(["weights", "NONE: config and tokenizer only (no model.safetensors or pytorch_model.bin) — it can tokenize, not embed or classify"]);
  }
  const t = r.tokenizer;
  rows.push(["tokenizer", t.error ? `${t.kind} (${t.file ?? "no tokenizer files"})${t.vocab_size ? `, vocab ${t.vocab_size}` : ""}: ${t.error}` : `${t.kind} (${t.file}), vocab ${t.vocab_size}, max length ${t.model_max_length}`]);
  if ("error" in r.pooling) rows.push(["pooling", `cannot tell: ${r.pooling.error}`]);
  else {
    const d = r.pooling;
    rows.push(["pooling", `${d.strategy}${d.normalize ? " + L2 normalise" : ""}, from ${d.source}; ${d.max_length ?? "?"} tokens max; ${d.dimension} dimensions`]);
  }
  if (r.weights) rows.push(["pooler", r.pooler ? "yes (trained pooler weights: tanh(W·h[CLS]+b))" : "no (pooling \"pooler\" unavailable)"]);
  if (r.weights && r.heads.length === 0) rows.push(["heads", "none: a bare encoder (sentence vectors only)"]);
  r.heads.forEach((h, i) => {
    const labels = h.labels ? `, ${h.num_labels} labels: ${h.labels.join(", ")}${h.problem_type ? ` (${h.problem_type})` : ""}` : "";
    const size = h.tensors.length > 0 ? ` — ${h.tensors.length} tensors, ${short(h.parameters)} parameters` : "";
    rows.push([i === 0 ? "heads" : "", `${h.name}${labels}${size}${h.note ? `; ${h.note}` : ""}`]);
  });
  if (r.weights) rows.push(["tasks", r.tasks.length > 0 ? `${r.tasks.join(", ")} (bert-ts pipelines this checkpoint serves)` : "sentence embeddings (embed, similarity, search)"]);
  const lr = r.load_report;
  if (lr) {
    const keys = (label: string, list: string[]) => (list.length === 0 ? `no ${label} keys` : `${list.length} ${label}: ${list.join(", ")}`);
    rows.push(["load report", `as ${lr.as}: ${keys("missing", lr.missing_keys)}; ${keys("unexpected", lr.unexpected_keys)}`]);
    if (lr.note) rows.push(["", lr.note]);
    for (const e of lr.errors) rows.push(["", `head not loaded: ${e}`]);
  }
  rows.push(["random", r.random_weights ? "YES: seeded random test weights (GENERATED.json) — exact arithmetic, no meaning" : "no (no GENERATED.json)"]);
  rows.push(["backend", r.backend]);
  let out = formatTable(rows);
  if (withFiles && r.files.length > 0) {
    out += "\n\nfiles:\n" + formatTable(r.files.map((f) => [`  ${f.file}`, human(f.bytes), f.role]), [false, true, false]);
  }
  return out + "\n";
}
