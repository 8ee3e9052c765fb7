/**
 * Corrupt and malicious model folders, each derived from one valid tiny BERT (safetensors or
 * torch.save weights, vocab.txt or tokenizer.json, sentence-transformers files) by one mutation,
 * and a runner that loads each in a child process (SentenceEncoder.load + embed) with a timeout and
 * its peak RSS, and counts crashes, hangs, code executed (a canary file), errors that name neither
 * file nor field, corrupt folders accepted silently and valid ones refused.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildSafetensors, safetensorsBytes } from "../io/helpers.js";
import { PickleWriter, stateDictPickle, torchZip, buildZip, type FakeTensor } from "../io/torch-fixtures.js";
import { REPO_ROOT } from "./paths.js";
import { tinyConfig, tinyWeights } from "./tiny-model.js";

/** What loading the folder must do. "ok-or-error": either is right, as long as an error is clear. */
export type Expectation = "error" | "ok" | "warn" | "ok-or-error";

export interface CorruptCase {
  name: string;
  group: string;
  expect: Expectation;
  /** An error must mention at least one of these (the file, the field or the tensor). */
  mentions: string[];
  /** Builds the folder from the valid files in `dir` (already written). */
  mutate(dir: string, ctx: Context): void;
}

interface Context {
  canary: string;
}

const CONFIG = {
  model_type: "bert",
  architectures: ["BertModel"],
  vocab_size: 50,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 24,
  max_position_embeddings: 40,
  type_vocab_size: 2,
  hidden_act: "gelu",
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
};

const VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ...Array.from({ length: 45 }, (_, i) => (i < 26 ? String.fromCharCode(97 + i) : `w${i}`))];

function tensors(): { name: string; shape: number[]; data: Float32Array }[] {
  const w = tinyWeights(tinyConfig(CONFIG), 3);
  return [...w.map].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
}

function safetensorsOf(list: { name: string; shape: number[]; data: Float32Array }[], dtype = "F32"): Buffer {
  return buildSafetensors(list.map((t) => ({ name: t.name, dtype, shape: t.shape, bytes: new Uint8Array(t.data.buffer.slice(0)) })));
}

function torchBinOf(list: { name: string; shape: number[]; data: Float32Array }[]): Buffer {
  const fake: FakeTensor[] = list.map((t, i) => ({ name: t.name, key: String(i), numel: t.data.length, shape: t.shape }));
  const storages: Record<string, Uint8Array> = {};
  list.forEach((t, i) => (storages[String(i)] = new Uint8Array(t.data.buffer.slice(0))));
  return torchZip(stateDictPickle(fake, { ordered: true }), storages);
}

const TOKENIZER_JSON = () => ({
  version: "1.0",
  added_tokens: VOCAB.slice(0, 5).map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
  normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: "BertPreTokenizer" },
  post_processor: {
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
    pair: [
      { SpecialToken: { id: "[CLS]", type_id: 0 } },
      { Sequence: { id: "A", type_id: 0 } },
      { SpecialToken: { id: "[SEP]", type_id: 0 } },
      { Sequence: { id: "B", type_id: 1 } },
      { SpecialToken: { id: "[SEP]", type_id: 1 } },
    ],
    special_tokens: { "[CLS]": { id: "[CLS]", ids: [2], tokens: ["[CLS]"] }, "[SEP]": { id: "[SEP]", ids: [3], tokens: ["[SEP]"] } },
  },
  decoder: { type: "WordPiece", prefix: "##", cleanup: true },
  model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])) },
});

/** The valid folder every case starts from. */
export function writeValidFolder(dir: string, weights: "safetensors" | "torch" = "safetensors", tokenizer: "vocab.txt" | "tokenizer.json" = "vocab.txt"): void {
  mkdirSync(join(dir, "1_Pooling"), { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(CONFIG));
  if (weights === "safetensors") writeFileSync(join(dir, "model.safetensors"), safetensorsOf(tensors()));
  else writeFileSync(join(dir, "pytorch_model.bin"), torchBinOf(tensors()));
  if (tokenizer === "vocab.txt") writeFileSync(join(dir, "vocab.txt"), VOCAB.join("\n") + "\n");
  else writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(TOKENIZER_JSON()));
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ do_lower_case: true, model_max_length: 32 }));
  writeFileSync(
    join(dir, "modules.json"),
    JSON.stringify([
      { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
      { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
      { idx: 2, name: "2", path: "2_Normalize", type: "sentence_transformers.models.Normalize" },
    ]),
  );
  writeFileSync(join(dir, "1_Pooling", "config.json"), JSON.stringify({ word_embedding_dimension: 16, pooling_mode_mean_tokens: true }));
  writeFileSync(join(dir, "sentence_bert_config.json"), JSON.stringify({ max_seq_length: 32, do_lower_case: false }));
}

// ---- helpers for mutations ------------------------------------------------------------------

const editJson = (file: string, f: (v: any) => unknown) => (dir: string) => {
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify(f(JSON.parse(readFileSync(path, "utf8")))));
};
const writeRaw = (file: string, bytes: string | Buffer) => (dir: string) => {
  rmSync(join(dir, file), { force: true, recursive: true });
  writeFileSync(join(dir, file), bytes);
};
const fifo = (file: string) => (dir: string) => {
  rmSync(join(dir, file), { force: true, recursive: true });
  const res = spawnSync("mkfifo", [join(dir, file)]);
  if (res.status !== 0) throw new Error(`mkfifo failed: ${res.stderr}`);
};
const symlinkTo = (file: string, target: string) => (dir: string) => {
  rmSync(join(dir, file), { force: true, recursive: true });
  symlinkSync(target, join(dir, file));
};
const asFolder = (file: string) => (dir: string) => {
  rmSync(join(dir, file), { force: true, recursive: true });
  mkdirSync(join(dir, file));
};
const useTorch = (dir: string) => {
  rmSync(join(dir, "model.safetensors"));
};
const writeTorch = (bytes: Buffer) => (dir: string) => {
  useTorch(dir);
  writeFileSync(join(dir, "pytorch_model.bin"), bytes);
};
const useTokenizerJson = (f: (j: any) => unknown) => (dir: string) => {
  rmSync(join(dir, "vocab.txt"));
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(f(TOKENIZER_JSON())));
};
/** A safetensors file whose first tensor's header entry is replaced. */
const headerEntry = (entry: (e: any) => unknown) => (dir: string) => {
  const list = tensors();
  const data = Buffer.concat(list.map((t) => Buffer.from(t.data.buffer)));
  const header: Record<string, unknown> = {};
  let at = 0;
  list.forEach((t, i) => {
    const e = { dtype: "F32", shape: t.shape, data_offsets: [at, at + t.data.length * 4] };
    header[t.name] = i === 0 ? entry(e) : e;
    at += t.data.length * 4;
  });
  writeFileSync(join(dir, "model.safetensors"), safetensorsBytes(header, data));
};
const withTensor = (name: string, f: (t: { shape: number[]; data: Float32Array }) => void) => (dir: string) => {
  const list = tensors();
  const t = list.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  f(t);
  writeFileSync(join(dir, "model.safetensors"), safetensorsOf(list));
};
/** A whole pickle as pytorch_model.bin's data.pkl (no storages). */
const torchPickle = (pkl: Buffer) => writeTorch(torchZip(pkl, {}));
const canaryCall = (module: string, name: string) => (dir: string, ctx: Context) =>
  torchPickle(new PickleWriter().proto(2).global(module, name).mark().str(`touch ${ctx.canary}`).tuple().reduce().stop().bytes())(dir);

// ---- the cases --------------------------------------------------------------------------------

export function corruptCases(): CorruptCase[] {
  const cases: CorruptCase[] = [];
  const add = (group: string, name: string, expect: Expectation, mentions: string[], mutate: CorruptCase["mutate"]) =>
    cases.push({ group, name: `${group}: ${name}`, expect, mentions, mutate });

  add("valid", "safetensors + vocab.txt", "ok", [], () => {});
  add("valid", "torch.save + tokenizer.json", "ok", [], (dir) => {
    writeTorch(torchBinOf(tensors()))(dir);
    useTokenizerJson((j) => j)(dir);
  });

  // safetensors: size, header, entries, offsets, values
  const ST = "model.safetensors";
  const stBytes = () => safetensorsOf(tensors());
  for (const len of [0, 1, 7, 8, 9, 100, 2000, 5000]) {
    add("safetensors", `truncated to ${len} bytes`, "error", [ST], (dir) => writeFileSync(join(dir, ST), stBytes().subarray(0, len)));
  }
  add("safetensors", "truncated by one byte", "error", [ST], (dir) => {
    const b = stBytes();
    writeFileSync(join(dir, ST), b.subarray(0, b.length - 1));
  });
  add("safetensors", "one extra byte", "error", [ST], (dir) => writeFileSync(join(dir, ST), Buffer.concat([stBytes(), Buffer.from([0])])));
  for (const n of [2n ** 63n, 10n ** 9n, 2n ** 32n, 99_999_999n]) {
    add("safetensors", `header length ${n}`, "error", [ST], (dir) => writeFileSync(join(dir, ST), safetensorsBytes({}, Buffer.alloc(0), { headerLength: n })));
  }
  for (const [what, raw] of [
    ["not JSON", "{not json"],
    ["a JSON array", "[1,2]"],
    ["null", "null"],
    ["a number", "12345678"],
    ["deeply nested", "[".repeat(100_000) + "]".repeat(100_000)],
  ] as const) {
    add("safetensors", `header ${what}`, "error", [ST], (dir) => writeFileSync(join(dir, ST), safetensorsBytes(null, Buffer.alloc(0), { rawHeader: Buffer.from(raw) })));
  }
  add("safetensors", "header not UTF-8", "error", [ST], (dir) => writeFileSync(join(dir, ST), safetensorsBytes(null, Buffer.alloc(0), { rawHeader: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) })));
  add("safetensors", "__metadata__ with a number", "error", [ST], (dir) => writeFileSync(join(dir, ST), safetensorsBytes({ __metadata__: { a: 1 } }, Buffer.alloc(0))));
  for (const dtype of ["F33", "F8_E4M3", "__proto__", "constructor", "toString", 5, null, ""]) {
    add("safetensors", `dtype ${JSON.stringify(dtype)}`, "error", [ST], headerEntry((e) => ({ ...e, dtype })));
  }
  for (const shape of [[-1, 16], [1.5, 16], ["50", 16], [2 ** 60, 16], null, "50x16", [50], [16, 50], [0, 16]]) {
    add("safetensors", `shape ${JSON.stringify(shape)}`, "error", [ST, "embeddings.word_embeddings.weight"], headerEntry((e) => ({ ...e, shape })));
  }
  for (const offsets of [[3200, 0], [0, 3204], [0, 2 ** 53], [-4, 3196], [4, 3204], [0], null, ["0", "3200"], [0, 1e300]]) {
    add("safetensors", `data_offsets ${JSON.stringify(offsets)}`, "error", [ST, "embeddings.word_embeddings.weight"], headerEntry((e) => ({ ...e, data_offsets: offsets })));
  }
  add("safetensors", "entry not an object", "error", [ST], headerEntry(() => "x"));
  add("safetensors", "two tensors share bytes (overlap)", "error", [ST], (dir) => {
    const list = tensors();
    const header: Record<string, unknown> = {};
    let at = 0;
    list.forEach((t) => {
      header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [at, at + t.data.length * 4] };
      at += t.data.length * 4;
    });
    const names = Object.keys(header);
    (header[names[4]] as any).data_offsets = (header[names[3]] as any).data_offsets;
    writeFileSync(join(dir, ST), safetensorsBytes(header, Buffer.concat(list.map((t) => Buffer.from(t.data.buffer)))));
  });
  for (const dtype of ["F16", "BF16", "F64"]) {
    add("safetensors", `stored as ${dtype} but bytes of F32`, "error", [ST], headerEntry((e) => ({ ...e, dtype })));
  }
  add("safetensors", "I32 tensor where floats are expected", "ok-or-error", [ST, "embeddings.word_embeddings.weight", "Input 0"], (dir) =>
    writeFileSync(join(dir, ST), buildSafetensors(tensors().map((t) => ({ name: t.name, dtype: "I32", shape: t.shape, bytes: new Uint8Array(t.data.buffer) })))),
  );
  add("safetensors", "a tensor missing", "error", ["embeddings.LayerNorm.weight"], (dir) =>
    writeFileSync(join(dir, ST), safetensorsOf(tensors().filter((t) => t.name !== "embeddings.LayerNorm.weight"))),
  );
  add("safetensors", "a tensor of the wrong shape", "error", ["encoder.layer.0.intermediate.dense.weight"], withTensor("encoder.layer.0.intermediate.dense.weight", (t) => (t.shape = [t.shape[1], t.shape[0]])));
  for (const [name, value] of [
    ["embeddings.LayerNorm.weight", NaN],
    ["encoder.layer.1.output.LayerNorm.bias", Infinity],
    ["encoder.layer.0.attention.output.LayerNorm.weight", -Infinity],
  ] as const) {
    add("safetensors", `${value} in ${name}`, "error", [name], withTensor(name, (t) => (t.data[3] = value)));
  }
  for (const [name, value] of [
    ["encoder.layer.0.intermediate.dense.weight", NaN],
    ["encoder.layer.1.attention.self.query.bias", Infinity],
    ["pooler.dense.weight", NaN],
  ] as const) {
    // The pooler is not used by mean pooling: loading and embedding are right to succeed.
    const expect: Expectation = name.startsWith("pooler") ? "ok" : "error";
    add("safetensors", `${value} in ${name}`, expect, ["Input 0", "Input 1"], withTensor(name, (t) => t.data.fill(value)));
  }
  add("safetensors", "NaN word embedding row of every letter", "error", ["Input 0", "Input 1"], withTensor("embeddings.word_embeddings.weight", (t) => t.data.fill(NaN, 5 * 16)));
  for (const extra of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
    add("safetensors", `an extra tensor named ${extra}`, "ok", [], (dir) =>
      writeFileSync(join(dir, ST), safetensorsOf([...tensors(), { name: extra, shape: [2], data: new Float32Array(2) }])),
    );
  }
  add("safetensors", "is a FIFO", "error", [ST, "no weight file"], fifo(ST));
  add("safetensors", "is a folder", "error", [ST, "no weight file"], asFolder(ST));
  add("safetensors", "symlink to /dev/zero", "error", [ST, "no weight file"], symlinkTo(ST, "/dev/zero"));
  add("safetensors", "dangling symlink", "error", [ST, "no weight file"], symlinkTo(ST, "/nonexistent/file"));
  add("safetensors", "symlink loop", "error", [ST, "no weight file"], (dir) => {
    rmSync(join(dir, ST));
    symlinkSync("loop2", join(dir, ST));
    symlinkSync(ST, join(dir, "loop2"));
  });

  // sharded safetensors index
  const IDX = "model.safetensors.index.json";
  const shard = (map: (names: string[]) => unknown) => (dir: string) => {
    const names = tensors().map((t) => t.name);
    rmSync(join(dir, ST));
    writeFileSync(join(dir, "model-00001-of-00001.safetensors"), stBytes());
    writeFileSync(join(dir, IDX), JSON.stringify(map(names)));
  };
  add("shards", "valid index", "ok", [], shard((names) => ({ weight_map: Object.fromEntries(names.map((n) => [n, "model-00001-of-00001.safetensors"])) })));
  for (const target of ["../model-00001-of-00001.safetensors", "/etc/passwd", "..", "", ".", "sub/../../x.safetensors", "a\u0000b"]) {
    add("shards", `weight_map names ${JSON.stringify(target)}`, "error", [IDX], shard((names) => ({ weight_map: Object.fromEntries(names.map((n, i) => [n, i === 0 ? target : "model-00001-of-00001.safetensors"])) })));
  }
  for (const [what, value] of [["an array", []], ["null", null], ["a string", "x"], ["no weight_map", { metadata: {} }], ["weight_map array", { weight_map: [] }], ["empty weight_map", { weight_map: {} }], ["numeric file name", { weight_map: { a: 5 } }]] as const) {
    add("shards", `index is ${what}`, "error", [IDX], shard(() => value));
  }
  add("shards", "a shard that is a FIFO", "error", ["model-00001-of-00001.safetensors", IDX], (dir) => {
    shard((names) => ({ weight_map: Object.fromEntries(names.map((n) => [n, "model-00001-of-00001.safetensors"])) }))(dir);
    fifo("model-00001-of-00001.safetensors")(dir);
  });
  add("shards", "index is a FIFO", "error", [IDX], (dir) => {
    shard(() => ({}))(dir);
    fifo(IDX)(dir);
  });

  // config.json
  const CFG = "config.json";
  for (const [what, raw] of [["empty", ""], ["not JSON", "{"], ["an array", "[]"], ["null", "null"], ["a string", '"bert"'], ["deeply nested", "[".repeat(200_000) + "]".repeat(200_000)]] as const) {
    add("config", `${what}`, "error", [CFG], writeRaw(CFG, raw));
  }
  const intFields = ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "max_position_embeddings", "type_vocab_size"];
  for (const field of intFields) {
    for (const value of [0, -1, 1.5, "12", 1e20, true, [], {}, 2 ** 31]) {
      add("config", `${field}: ${JSON.stringify(value)}`, "error", [CFG, field], editJson(CFG, (c) => ({ ...c, [field]: value })));
    }
  }
  for (const value of [-1, 1.5, "0", 1e20]) {
    add("config", `pad_token_id: ${JSON.stringify(value)}`, "error", [CFG, "pad_token_id"], editJson(CFG, (c) => ({ ...c, pad_token_id: value })));
  }
  for (const value of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "", "BERT", 5, ["bert"]]) {
    add("config", `model_type: ${JSON.stringify(value)}`, "error", [CFG, "model_type"], editJson(CFG, (c) => ({ ...c, model_type: value })));
  }
  for (const value of ["__proto__", "toString", "constructor", "swish", "GELU", 5, null]) {
    // null means "not set" (the default gelu), as in transformers
    add("config", `hidden_act: ${JSON.stringify(value)}`, value === null ? "ok" : "error", [CFG, "hidden_act"], editJson(CFG, (c) => ({ ...c, hidden_act: value })));
  }
  for (const value of [0, -1, "1e-12", 2, [], true]) {
    add("config", `layer_norm_eps: ${JSON.stringify(value)}`, "error", [CFG, "layer_norm_eps"], editJson(CFG, (c) => ({ ...c, layer_norm_eps: value })));
  }
  for (const value of ["relative_key", "__proto__", 5]) {
    add("config", `position_embedding_type: ${JSON.stringify(value)}`, "error", [CFG, "position_embedding_type"], editJson(CFG, (c) => ({ ...c, position_embedding_type: value })));
  }
  for (const value of ["BertModel", [5], { a: 1 }]) {
    add("config", `architectures: ${JSON.stringify(value)}`, "error", [CFG, "architectures"], editJson(CFG, (c) => ({ ...c, architectures: value })));
  }
  for (const value of [["__proto__"], ["constructor"], ["toString"], ["BertForUnknownThing"]]) {
    add("config", `architectures: ${JSON.stringify(value)}`, "ok", [], editJson(CFG, (c) => ({ ...c, architectures: value })));
  }
  for (const value of [{ a: "x" }, { "0": 5 }, "labels", { "-1": "x" }]) {
    add("config", `id2label: ${JSON.stringify(value)}`, "error", [CFG, "id2label"], editJson(CFG, (c) => ({ ...c, id2label: value })));
  }
  add("config", 'id2label with a label "__proto__"', "ok", [], editJson(CFG, (c) => ({ ...c, id2label: { "0": "__proto__", "1": "constructor" } })));
  for (const value of ["regression!", 5]) {
    add("config", `problem_type: ${JSON.stringify(value)}`, "error", [CFG, "problem_type"], editJson(CFG, (c) => ({ ...c, problem_type: value })));
  }
  for (const key of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
    add("config", `an extra key "${key}"`, "ok", [], (dir) => writeFileSync(join(dir, CFG), JSON.stringify(CONFIG).replace(/^\{/, `{"${key}": {"x": 1}, `)));
  }
  add("config", "hidden_size not a multiple of the heads", "error", [CFG, "num_attention_heads"], editJson(CFG, (c) => ({ ...c, num_attention_heads: 3 })));
  add("config", "fewer layers than the checkpoint", "warn", [CFG, "num_hidden_layers"], editJson(CFG, (c) => ({ ...c, num_hidden_layers: 1 })));
  add("config", "more layers than the checkpoint", "error", ["encoder.layer.2."], editJson(CFG, (c) => ({ ...c, num_hidden_layers: 3 })));
  add("config", "vocab_size smaller than the tokenizer's special ids", "error", [CFG, "vocab_size", "embeddings.word_embeddings.weight"], editJson(CFG, (c) => ({ ...c, vocab_size: 3 })));
  add("config", "max_position_embeddings 1 (RoBERTa offset leaves none)", "error", [CFG, "max_position_embeddings"], editJson(CFG, (c) => ({ ...c, model_type: "roberta", max_position_embeddings: 1, pad_token_id: 1 })));
  add("config", "is a FIFO", "error", [CFG], fifo(CFG));
  add("config", "is a folder", "error", [CFG], asFolder(CFG));
  add("config", "symlink to /dev/zero", "error", [CFG], symlinkTo(CFG, "/dev/zero"));
  add("config", "symlink to /dev/urandom", "error", [CFG], symlinkTo(CFG, "/dev/urandom"));
  add("config", "missing", "error", [CFG], (dir) => rmSync(join(dir, CFG)));
  add("config", "300 MB sparse file", "error", [CFG], (dir) => {
    writeFileSync(join(dir, CFG), "");
    truncateSync(join(dir, CFG), 300 * 1024 * 1024);
  });

  // torch.save zip and pickle
  const BIN = "pytorch_model.bin";
  const binMentions = [BIN];
  const goodBin = () => torchBinOf(tensors());
  for (const len of [0, 3, 4, 100, 1000, 3000]) {
    add("torch", `truncated to ${len} bytes`, "error", binMentions, (dir) => writeTorch(goodBin().subarray(0, len))(dir));
  }
  add("torch", "last 22 bytes (end record) cut", "error", binMentions, (dir) => {
    const b = goodBin();
    writeTorch(b.subarray(0, b.length - 22))(dir);
  });
  add("torch", "legacy (non-zip) pickle", "error", binMentions, writeTorch(Buffer.from("\x80\x02}q\x00.", "latin1")));
  add("torch", "random bytes", "error", binMentions, writeTorch(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))));
  add("torch", "deflated entries", "error", binMentions, (dir) => {
    const list = tensors();
    const fake: FakeTensor[] = list.map((t, i) => ({ name: t.name, key: String(i), numel: t.data.length, shape: t.shape }));
    writeTorch(torchZip(stateDictPickle(fake), Object.fromEntries(list.map((t, i) => [String(i), new Uint8Array(t.data.buffer)])), { deflate: true }))(dir);
  });
  add("torch", "two data.pkl", "error", binMentions, writeTorch(buildZip([{ name: "a/data.pkl", data: Buffer.from("\x80\x02}.", "latin1") }, { name: "b/data.pkl", data: Buffer.from("\x80\x02}.", "latin1") }])));
  add("torch", "no data.pkl", "error", binMentions, writeTorch(buildZip([{ name: "a/version", data: Buffer.from("3") }])));
  add("torch", "a storage missing", "error", binMentions, (dir) => {
    const list = tensors();
    const fake: FakeTensor[] = list.map((t, i) => ({ name: t.name, key: String(i), numel: t.data.length, shape: t.shape }));
    writeTorch(torchZip(stateDictPickle(fake), { "0": new Uint8Array(list[0].data.buffer) }))(dir);
  });
  add("torch", "a storage too short", "error", binMentions, (dir) => {
    const list = tensors();
    const fake: FakeTensor[] = list.map((t, i) => ({ name: t.name, key: String(i), numel: t.data.length, shape: t.shape }));
    const st = Object.fromEntries(list.map((t, i) => [String(i), new Uint8Array(t.data.buffer).subarray(0, i === 2 ? 8 : undefined)]));
    writeTorch(torchZip(stateDictPickle(fake), st))(dir);
  });
  add("torch", "data.pkl CRC wrong", "error", binMentions, (dir) => {
    const b = goodBin();
    const at = b.indexOf(Buffer.from("data.pkl")) + 8 + 40; // inside the pickle bytes after the local header
    b[at] ^= 0xff;
    writeTorch(b)(dir);
  });
  add("torch", "big-endian byteorder", "error", binMentions, (dir) => {
    const fake: FakeTensor[] = [];
    writeTorch(torchZip(stateDictPickle(fake), {}, { extra: [{ name: "archive/byteorder", data: Buffer.from("big") }] }))(dir);
  });
  const views: [string, Partial<FakeTensor>][] = [
    ["offset past the storage", { offset: 10_000 }],
    ["huge size", { shape: [2 ** 40, 16] }],
    ["stride past the storage", { stride: [1_000_000, 1] }],
    ["broadcast (stride 0) larger than the storage", { shape: [50, 16], stride: [0, 1], numel: 16 }],
    ["numel claims 2^50", { numel: 2 ** 50 }],
    ["storage type __proto__", { storageType: "__proto__" }],
    ["storage type constructor", { storageType: "constructor" }],
    ["storage type LongStorage", { storageType: "LongStorage" }],
  ];
  for (const [what, change] of views) {
    add("torch", `tensor view: ${what}`, what === "storage type LongStorage" ? "ok-or-error" : "error", binMentions, (dir) => {
      const list = tensors();
      const fake: FakeTensor[] = list.map((t, i) => ({ name: t.name, key: String(i), numel: t.data.length, shape: t.shape, ...(i === 0 ? change : {}) }));
      writeTorch(torchZip(stateDictPickle(fake), Object.fromEntries(list.map((t, i) => [String(i), new Uint8Array(t.data.buffer)]))))(dir);
    });
  }
  // pickle bombs: each would take gigabytes if unbounded
  const pk = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : p)));
  add("pickle", "20 M EMPTY_LIST", "error", binMentions, torchPickle(pk("\x80\x02", Buffer.alloc(20_000_000, 0x5d), ".")));
  add("pickle", "10 M EMPTY_LIST + POP", "error", binMentions, torchPickle(pk("\x80\x02", Buffer.alloc(20_000_000, "]0"), "}.")));
  add("pickle", "memo flood (3 M LONG_BINPUT)", "error", binMentions, torchPickle(pk("\x80\x02N", Buffer.concat(Array.from({ length: 3_000_000 }, (_, i) => { const b = Buffer.alloc(5); b[0] = 0x72; b.writeUInt32LE(i, 1); return b; })), ".")));
  add("pickle", "memo flood (MEMOIZE)", "error", binMentions, torchPickle(pk("\x80\x04N", Buffer.alloc(3_000_000, 0x94), ".")));
  add("pickle", "100 k nested MARKs", "error", binMentions, torchPickle(pk("\x80\x02", Buffer.alloc(100_000, 0x28), "N.")));
  add("pickle", "DUP flood", "error", binMentions, torchPickle(pk("\x80\x02N", Buffer.alloc(20_000_000, 0x32), ".")));
  add("pickle", "nested lists 1 M deep", "error", binMentions, torchPickle(pk("\x80\x02", Buffer.alloc(2_000_000, "](", "latin1"), ".")));
  add("pickle", "33 MB data.pkl", "error", binMentions, torchPickle(pk("\x80\x02", Buffer.alloc(33 * 1024 * 1024, "N0", "latin1"), "}.")));
  add("pickle", "string claiming 4 GB", "error", binMentions, torchPickle(pk("\x80\x02X\xff\xff\xff\xff", "abc")));
  add("pickle", "BINUNICODE8 claiming 2^60", "error", binMentions, torchPickle(pk("\x80\x04\x8d", Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x10]), "abc")));
  add("pickle", "LONG4 of 1 GB", "error", binMentions, torchPickle(pk("\x80\x02\x8b\x00\x00\x00\x40", "abc")));
  add("pickle", "dict with 3 M entries", "error", binMentions, torchPickle(pk("\x80\x02}(", Buffer.concat(Array.from({ length: 3_000_000 }, (_, i) => { const b = Buffer.alloc(6); b[0] = 0x4a; b.writeInt32LE(i, 1); b[5] = 0x4e; return b; })), "u.")));
  add("pickle", "not a dict at the root", "error", binMentions, torchPickle(pk("\x80\x02]K\x01a.")));
  add("pickle", "empty", "error", binMentions, torchPickle(Buffer.alloc(0)));
  add("pickle", "stack underflow", "error", binMentions, torchPickle(pk("\x80\x02s.")));
  add("pickle", "unknown opcode", "error", binMentions, torchPickle(pk("\x80\x02\xff.")));
  add("pickle", "protocol 9", "error", binMentions, torchPickle(pk("\x80\x09}.")));
  add("pickle", "state dict value is a list", "error", binMentions, torchPickle(pk("\x80\x02}X\x01\x00\x00\x00a]s.")));
  add("pickle", "state dict key is an int", "error", binMentions, torchPickle(pk("\x80\x02}K\x01]s.")));
  // code execution attempts: the canary file must never appear
  for (const [module, name] of [
    ["os", "system"],
    ["posix", "system"],
    ["nt", "system"],
    ["subprocess", "Popen"],
    ["subprocess", "check_output"],
    ["builtins", "eval"],
    ["builtins", "exec"],
    ["__builtin__", "eval"],
    ["builtins", "getattr"],
    ["builtins", "__import__"],
    ["torch", "load"],
    ["torch._utils", "_rebuild_tensor_v2.__globals__"],
    ["collections", "OrderedDict.__init__"],
    ["__proto__", "constructor"],
    ["torch", "constructor"],
    ["torch", "__proto__"],
  ]) {
    add("pickle", `calls ${module}.${name}`, "error", binMentions, canaryCall(module, name));
  }
  add("pickle", "STACK_GLOBAL os.system", "error", binMentions, (dir, ctx) =>
    torchPickle(new PickleWriter().proto(4).stackGlobal("os", "system").mark().str(`touch ${ctx.canary}`).tuple().reduce().stop().bytes())(dir),
  );
  for (const [what, bytes] of [
    ["INST os system", (c: string) => pk("\x80\x02(X", lenStr(`touch ${c}`), "ios\nsystem\n.")],
    ["OBJ", (c: string) => pk("\x80\x02(cos\nsystem\nX", lenStr(`touch ${c}`), "o.")],
    ["NEWOBJ", (c: string) => pk("\x80\x02cos\nsystem\nX", lenStr(`touch ${c}`), "\x85\x81.")],
    ["PERSID text", () => pk("\x80\x02Pfoo\n.")],
    ["EXT1", () => pk("\x80\x02\x82\x01.")],
    ["REDUCE on OrderedDict with arguments", (c: string) => pk("\x80\x02ccollections\nOrderedDict\nX", lenStr(`touch ${c}`), "\x85R.")],
    ["BUILD on a global", () => pk("\x80\x02ccollections\nOrderedDict\n}b.")],
  ] as const) {
    add("pickle", what, "error", binMentions, (dir, ctx) => torchPickle(bytes(ctx.canary))(dir));
  }

  // tokenizer files
  const TJ = "tokenizer.json";
  add("tokenizer", "vocab.txt empty", "error", ["vocab.txt"], writeRaw("vocab.txt", ""));
  add("tokenizer", "vocab.txt with NUL bytes", "error", ["vocab.txt"], writeRaw("vocab.txt", "[PAD]\n\0\0\n"));
  add("tokenizer", "vocab.txt is a FIFO", "error", ["vocab.txt"], fifo("vocab.txt"));
  add("tokenizer", "vocab.txt is a folder", "error", ["vocab.txt"], asFolder("vocab.txt"));
  add("tokenizer", "vocab.txt symlink to /dev/zero", "error", ["vocab.txt"], symlinkTo("vocab.txt", "/dev/zero"));
  add("tokenizer", "no tokenizer at all", "error", ["tokenizer.json", "vocab.txt"], (dir) => rmSync(join(dir, "vocab.txt")));
  // transformers maps a missing [CLS] to [UNK] without a word; so do we (ids as Hugging Face gives them).
  add("tokenizer", "vocab.txt without [CLS]", "ok-or-error", ["[CLS]", "vocab.txt"], writeRaw("vocab.txt", VOCAB.filter((t) => t !== "[CLS]").join("\n")));
  add("tokenizer", "vocab.txt longer than vocab_size (special ids inside)", "warn", ["vocab_size"], writeRaw("vocab.txt", [...VOCAB, ...Array.from({ length: 20 }, (_, i) => `extra${i}`)].join("\n")));
  add("tokenizer", "vocab.txt with [CLS] beyond vocab_size", "error", ["vocab_size"], writeRaw("vocab.txt", [...VOCAB.filter((t) => t !== "[CLS]"), ...Array.from({ length: 20 }, (_, i) => `extra${i}`), "[CLS]"].join("\n")));
  for (const [what, raw] of [["not JSON", "{"], ["an array", "[]"], ["null", "null"], ["no model", "{}"]] as const) {
    add("tokenizer", `tokenizer.json ${what}`, "error", [TJ], (dir) => {
      rmSync(join(dir, "vocab.txt"));
      writeFileSync(join(dir, TJ), raw);
    });
  }
  add("tokenizer", "tokenizer.json is a FIFO", "error", [TJ], (dir) => {
    rmSync(join(dir, "vocab.txt"));
    fifo(TJ)(dir);
  });
  for (const type of ["__proto__", "constructor", "toString", "Unigram", 5, null]) {
    add("tokenizer", `model.type ${JSON.stringify(type)}`, "error", [TJ], useTokenizerJson((j) => ({ ...j, model: { ...j.model, type } })));
  }
  for (const value of [-1, 0, 1.5, "100"]) {
    add("tokenizer", `max_input_chars_per_word ${JSON.stringify(value)}`, "error", [TJ, "max_input_chars_per_word"], useTokenizerJson((j) => ({ ...j, model: { ...j.model, max_input_chars_per_word: value } })));
  }
  for (const [what, vocab] of [["an array", ["a"]], ["negative id", { a: -1 }], ["fractional id", { a: 0.5 }], ["id 1e9", { "[UNK]": 1e9 }], ["empty", {}], ["null", null]] as const) {
    add("tokenizer", `model.vocab ${what}`, "error", [TJ], useTokenizerJson((j) => ({ ...j, model: { ...j.model, vocab } })));
  }
  for (const stage of ["normalizer", "pre_tokenizer", "post_processor", "decoder"]) {
    for (const type of ["__proto__", "constructor", "toString", "NoSuchStage"]) {
      add("tokenizer", `${stage}.type ${type}`, "error", [TJ], useTokenizerJson((j) => ({ ...j, [stage]: { type } })));
    }
  }
  for (const id of ["constructor", "__proto__", "toString", "missing"]) {
    add("tokenizer", `TemplateProcessing special token ${id}`, "error", [TJ], useTokenizerJson((j) => ({ ...j, post_processor: { ...j.post_processor, single: [{ SpecialToken: { id, type_id: 0 } }] } })));
  }
  add("tokenizer", "TemplateProcessing piece null", "error", [TJ], useTokenizerJson((j) => ({ ...j, post_processor: { ...j.post_processor, single: [null] } })));
  add("tokenizer", "TemplateProcessing ids beyond vocab_size", "error", [TJ, "vocab_size", "Input 0"], useTokenizerJson((j) => ({ ...j, post_processor: { ...j.post_processor, special_tokens: { ...j.post_processor.special_tokens, "[CLS]": { id: "[CLS]", ids: [999], tokens: ["[CLS]"] } } } })));
  for (const [what, added] of [["id -1", [{ id: -1, content: "x" }]], ["content 5", [{ id: 7, content: 5 }]], ["null entry", [null]], ["not an array", { a: 1 }], ["special id beyond vocab_size", [{ id: 700, content: "[SPECIAL]", special: true }]]] as const) {
    add("tokenizer", `added_tokens ${what}`, "error", [TJ, "added_tokens", "vocab_size"], useTokenizerJson((j) => ({ ...j, added_tokens: [...j.added_tokens, ...(Array.isArray(added) ? added : [])], ...(Array.isArray(added) ? {} : { added_tokens: added }) })));
  }
  for (const [what, cfg] of [["not JSON", "{"], ["an array", "[]"]] as const) {
    add("tokenizer", `tokenizer_config.json ${what}`, "error", ["tokenizer_config.json"], writeRaw("tokenizer_config.json", cfg));
  }
  for (const value of [-87, "x", 1e30, 0]) {
    add("tokenizer", `model_max_length ${JSON.stringify(value)}`, "ok-or-error", ["tokenizer_config.json", "model_max_length"], editJson("tokenizer_config.json", (c) => ({ ...c, model_max_length: value })));
  }
  for (const value of [5, { content: 5 }, ["a"], "[NOPE]"]) {
    add("tokenizer", `special_tokens_map cls_token ${JSON.stringify(value)}`, "ok-or-error", ["special_tokens_map.json", "cls_token", "[NOPE]"], writeRaw("special_tokens_map.json", JSON.stringify({ cls_token: value })));
  }
  add("tokenizer", "tokenizer_config.json is a FIFO", "error", ["tokenizer_config.json"], fifo("tokenizer_config.json"));

  // sentence-transformers files
  const MOD = "modules.json";
  const pooling = (path: unknown) => [{ idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" }, { idx: 1, name: "1", path, type: "sentence_transformers.models.Pooling" }];
  for (const [what, value] of [["an object", { "0": { type: "sentence_transformers.models.Pooling", path: "1_Pooling" } }], ["a string", "modules"], ["null", null], ["a number", 5], ["[5]", [5]], ["[null]", [null]], ["type 5", [{ type: 5, path: "x" }]]] as const) {
    add("sentence-transformers", `modules.json ${what}`, "error", [MOD], writeRaw(MOD, JSON.stringify(value)));
  }
  for (const path of ["../../etc", "/etc", "..", "1_Pooling/../../x", "../" + "a".repeat(10), "a\u0000b", 5, ["1_Pooling"]]) {
    add("sentence-transformers", `Pooling path ${JSON.stringify(path)}`, "error", [MOD], writeRaw(MOD, JSON.stringify(pooling(path))));
  }
  add("sentence-transformers", "Pooling path to a missing folder", "error", ["2_Missing"], writeRaw(MOD, JSON.stringify(pooling("2_Missing"))));
  add("sentence-transformers", "an unknown module type", "error", [MOD], writeRaw(MOD, JSON.stringify([...pooling("1_Pooling"), { type: "sentence_transformers.models.Dense", path: "2_Dense" }])));
  add("sentence-transformers", "modules.json not JSON", "error", [MOD], writeRaw(MOD, "[{"));
  add("sentence-transformers", "modules.json is a FIFO", "error", [MOD], fifo(MOD));
  add("sentence-transformers", "modules.json symlink to /dev/zero", "error", [MOD], symlinkTo(MOD, "/dev/zero"));
  const PC = join("1_Pooling", "config.json");
  for (const [what, value] of [["not JSON", "{"], ["an array", "[]"], ["null", "null"], ["no mode on", "{}"]] as const) {
    add("sentence-transformers", `1_Pooling/config.json ${what}`, "error", [PC], writeRaw(PC, value));
  }
  // Several modes on is valid: sentence-transformers' Pooling concatenates them (cls, max, mean), and so does bert-ts.
  add("sentence-transformers", "1_Pooling/config.json three modes on", "ok", [], writeRaw(PC, JSON.stringify({ pooling_mode_cls_token: true, pooling_mode_mean_tokens: true, pooling_mode_max_tokens: true })));
  add("sentence-transformers", "1_Pooling/config.json is a FIFO", "error", [PC], fifo(PC));
  add("sentence-transformers", "1_Pooling is a symlink outside the folder", "ok", [], (dir) => {
    // Symlinks are followed (the Hugging Face cache is made of them); only the named path must stay inside.
    const outside = join(dir, "..", `${join(dir).split("/").pop()}-outside-pooling`);
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, "config.json"), JSON.stringify({ pooling_mode_cls_token: true }));
    rmSync(join(dir, "1_Pooling"), { recursive: true });
    symlinkSync(outside, join(dir, "1_Pooling"));
  });
  const SB = "sentence_bert_config.json";
  for (const [what, value] of [["not JSON", "{"], ["an array", "[]"], ["max_seq_length -1", '{"max_seq_length": -1}'], ['max_seq_length "x"', '{"max_seq_length": "x"}'], ["max_seq_length 1.5", '{"max_seq_length": 1.5}']] as const) {
    add("sentence-transformers", `${SB} ${what}`, "error", [SB], writeRaw(SB, value));
  }
  add("sentence-transformers", `${SB} max_seq_length 1e9 (capped by the model)`, "ok", [], writeRaw(SB, '{"max_seq_length": 1000000000}'));
  add("sentence-transformers", `${SB} is a FIFO`, "error", [SB], fifo(SB));
  return cases;
}

function lenStr(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return Buffer.concat([len, b]);
}

// ---- running them -------------------------------------------------------------------------------

export const CHILD_SCRIPT = join(REPO_ROOT, "test", "helpers", "load-model-child.mjs");
export const DIST_ENTRY = join(REPO_ROOT, "dist", "index.js");

export interface CaseResult {
  case: CorruptCase;
  outcome: "ok" | "warn" | "error" | "crash" | "hang";
  message?: string;
  warnings: string[];
  peakRssMb: number;
  codeExecuted: boolean;
  /** Why this result breaks the rules, or undefined when it is right. */
  problem?: string;
}

export interface Tally {
  cases: number;
  crashes: number;
  hangs: number;
  codeExecuted: number;
  errorsWithoutFileOrField: number;
  acceptedSilently: number;
  validRefused: number;
  worstRssMb: number;
  worstRssCase: string;
  problems: string[];
}

function peakRssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used so far; undefined once it is gone. */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which may hold spaces) start at state; utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * When a child is a hang, judged by the work it does, not by the wall clock (a loaded machine can
 * make a healthy load take minutes): it spins (more than `cpuSeconds` of CPU; a real load of these
 * tiny folders uses well under 10 s), or it is blocked (its CPU time has not moved for `idleMs`:
 * a runnable process always gets some CPU within that, however loaded the machine).
 */
export interface HangLimits {
  cpuSeconds: number;
  idleMs: number;
}
const HANG_LIMITS: HangLimits = { cpuSeconds: 60, idleMs: 20_000 };

/** Loads one folder in a child process; a child that spins or blocks (see HangLimits) is a hang (killed). */
export async function runCase(c: CorruptCase, root: string, index: number, limits: HangLimits = HANG_LIMITS): Promise<CaseResult> {
  const dir = join(root, `case-${String(index).padStart(3, "0")}`);
  const canary = join(root, `canary-${index}`);
  writeValidFolder(dir);
  c.mutate(dir, { canary });
  const child = spawn(process.execPath, [CHILD_SCRIPT, dir], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, BERT_TS_THREADS: "1" } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  let peak = 0;
  // Sampled while it runs: the child's own figure is lost if it crashes.
  const sampler = setInterval(() => (peak = Math.max(peak, peakRssOf(child.pid))), 20);
  let hung = false;
  let lastCpu = -1;
  let lastMove = Date.now();
  const watch = setInterval(() => {
    const cpu = cpuSecondsOf(child.pid);
    if (cpu === undefined) return;
    if (cpu !== lastCpu) [lastCpu, lastMove] = [cpu, Date.now()];
    if (cpu > limits.cpuSeconds || Date.now() - lastMove > limits.idleMs) {
      hung = true;
      child.kill("SIGKILL");
    }
  }, 250);
  const code = await new Promise<number | null>((res) => child.on("close", (status) => res(status)));
  clearInterval(watch);
  clearInterval(sampler);
  let report: { ok: boolean; message?: string; warnings: string[]; maxRssKb: number } | undefined;
  try {
    report = JSON.parse(stdout.trim().split("\n").pop() ?? "");
  } catch {
    report = undefined;
  }
  // The child's own figure when it reports; samples can catch the parent's pages before exec.
  if (report) peak = report.maxRssKb / 1024;
  const codeExecuted = existsSync(canary);
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${dir}-outside-pooling`, { recursive: true, force: true });
  const result: CaseResult = { case: c, outcome: "crash", warnings: report?.warnings ?? [], peakRssMb: peak, codeExecuted };
  if (hung) result.outcome = "hang";
  else if (!report || code !== 0) {
    result.outcome = "crash";
    result.message = `exit ${code}: ${stderr.slice(-500)}`;
  } else if (report.ok) result.outcome = report.warnings.length > 0 ? "warn" : "ok";
  else {
    result.outcome = "error";
    result.message = report.message;
  }
  result.problem = judge(result);
  return result;
}

function judge(r: CaseResult): string | undefined {
  const c = r.case;
  if (r.codeExecuted) return "code executed";
  if (r.outcome === "crash" || r.outcome === "hang") return `${r.outcome}: ${r.message ?? ""}`;
  if (r.outcome === "error") {
    if (c.expect === "ok" || c.expect === "warn") return `refused a valid folder: ${r.message}`;
    if (!c.mentions.some((m) => r.message?.includes(m))) return `error names none of ${c.mentions.join(" / ")}: ${r.message}`;
    return undefined;
  }
  if (c.expect === "error") return `accepted silently${r.warnings.length ? ` (warnings: ${r.warnings.join("; ")})` : ""}`;
  if (c.expect === "warn" && r.outcome !== "warn") return "loaded without the expected warning";
  if (c.expect === "warn" && !r.warnings.some((w) => c.mentions.some((m) => w.includes(m)))) return `warning names none of ${c.mentions.join(" / ")}: ${r.warnings.join("; ")}`;
  return undefined;
}

/** Runs the cases `parallel` at a time and tallies them. */
export async function runCases(cases: readonly CorruptCase[], root: string, parallel = 2): Promise<{ tally: Tally; results: CaseResult[] }> {
  mkdirSync(root, { recursive: true });
  const results: CaseResult[] = new Array(cases.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < cases.length) {
        const i = next++;
        results[i] = await runCase(cases[i], root, i);
      }
    }),
  );
  const tally: Tally = { cases: cases.length, crashes: 0, hangs: 0, codeExecuted: 0, errorsWithoutFileOrField: 0, acceptedSilently: 0, validRefused: 0, worstRssMb: 0, worstRssCase: "", problems: [] };
  for (const r of results) {
    if (r.outcome === "crash") tally.crashes++;
    if (r.outcome === "hang") tally.hangs++;
    if (r.codeExecuted) tally.codeExecuted++;
    if (r.problem?.startsWith("error names none")) tally.errorsWithoutFileOrField++;
    if (r.problem?.startsWith("accepted silently") || r.problem?.startsWith("loaded without")) tally.acceptedSilently++;
    if (r.problem?.startsWith("refused a valid")) tally.validRefused++;
    if (r.peakRssMb > tally.worstRssMb) [tally.worstRssMb, tally.worstRssCase] = [r.peakRssMb, r.case.name];
    if (r.problem) tally.problems.push(`${r.case.name}: ${r.problem}`);
  }
  return { tally, results };
}

export function formatTally(t: Tally): string {
  return [
    `corrupt model folders: ${t.cases}`,
    `crashes ${t.crashes}, hangs ${t.hangs}, code executed ${t.codeExecuted}, errors without file/field ${t.errorsWithoutFileOrField}, accepted silently ${t.acceptedSilently}, valid refused ${t.validRefused}`,
    `peak RSS of the worst case: ${t.worstRssMb.toFixed(0)} MB (${t.worstRssCase})`,
    ...t.problems.map((p) => `  PROBLEM ${p}`),
  ].join("\n");
}
