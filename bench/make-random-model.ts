/**
 * Writes a BERT (or MPNet, or XLM-RoBERTa) checkpoint with seeded random weights in Hugging Face's
 * layout (config.json, model.safetensors in float32, tokenizer files copied from a shared model
 * folder), for benchmarks at shapes no shared model has (bert-base: 768 hidden, 12 layers).
 * Generated on demand into .bench-models/ (git-ignored); never committed.
 */
import { closeSync, copyFileSync, cpSync, existsSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { mulberry32 } from "../test/helpers/random.js";

/** The encoder families the generator writes, and what differs between them in the files. */
export type RandomModelFamily = "bert" | "mpnet" | "xlm-roberta";

export interface RandomModelShape {
  family?: RandomModelFamily; // default "bert"
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  vocab: number;
  maxPositions: number;
}

export const BERT_BASE: RandomModelShape = { hidden: 768, layers: 12, heads: 12, intermediate: 3072, vocab: 30522, maxPositions: 512 };
/** all-mpnet-base-v2's shape. */
export const MPNET_BASE: RandomModelShape = { family: "mpnet", hidden: 768, layers: 12, heads: 12, intermediate: 3072, vocab: 30527, maxPositions: 514 };
/** xlm-roberta-base / multilingual-e5-base's shape (250,002 ids). */
export const XLM_ROBERTA_BASE: RandomModelShape = { family: "xlm-roberta", hidden: 768, layers: 12, heads: 12, intermediate: 3072, vocab: 250002, maxPositions: 514 };

/** Per family: layer tensor names (BERT's unless given), token types, config.json extras. */
const FAMILY_LAYOUT: Record<RandomModelFamily, { attention: [string, string, string, string, string]; tokenTypes: number; config: Record<string, unknown> }> = {
  bert: {
    attention: ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "attention.output.LayerNorm"],
    tokenTypes: 2,
    config: { architectures: ["BertModel"], model_type: "bert", type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0 },
  },
  mpnet: {
    attention: ["attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o", "attention.LayerNorm"],
    tokenTypes: 0,
    config: { architectures: ["MPNetModel"], model_type: "mpnet", relative_attention_num_buckets: 32, layer_norm_eps: 1e-5, pad_token_id: 1 },
  },
  "xlm-roberta": {
    attention: ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "attention.output.LayerNorm"],
    tokenTypes: 1,
    config: { architectures: ["XLMRobertaModel"], model_type: "xlm-roberta", type_vocab_size: 1, layer_norm_eps: 1e-5, pad_token_id: 1 },
  },
};


/** Creates the folder unless it already exists; returns its path. tokenizerFrom: a folder with vocab.txt (+ tokenizer files). */
export function makeRandomBert(dir: string, shape: RandomModelShape, tokenizerFrom: string, seed = 1234): string {
  if (existsSync(join(dir, "model.safetensors"))) return dir;
  mkdirSync(dir, { recursive: true });
  const rand = mulberry32(seed);
  const { hidden: h, intermediate: ff } = shape;
  const layout = FAMILY_LAYOUT[shape.family ?? "bert"];
  const tensors: [string, number[], number, number][] = []; // name, shape, center, spread
  const add = (name: string, s: number[], center = 0, spread = 0.05) => tensors.push([name, s, center, spread]);
  add("embeddings.word_embeddings.weight", [shape.vocab, h]);
  add("embeddings.position_embeddings.weight", [shape.maxPositions, h]);
  if (layout.tokenTypes > 0) add("embeddings.token_type_embeddings.weight", [layout.tokenTypes, h]);
  add("embeddings.LayerNorm.weight", [h], 1, 0.1);
  add("embeddings.LayerNorm.bias", [h], 0, 0.02);
  const [query, key, value, attentionOutput, attentionNorm] = layout.attention;
  for (let l = 0; l < shape.layers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const m of [query, key, value, attentionOutput]) {
      add(`${p}${m}.weight`, [h, h]);
      add(`${p}${m}.bias`, [h], 0, 0.02);
    }
    add(`${p}${attentionNorm}.weight`, [h], 1, 0.1);
    add(`${p}${attentionNorm}.bias`, [h], 0, 0.02);
    add(`${p}intermediate.dense.weight`, [ff, h]);
    add(`${p}intermediate.dense.bias`, [ff], 0, 0.02);
    add(`${p}output.dense.weight`, [h, ff]);
    add(`${p}output.dense.bias`, [h], 0, 0.02);
    add(`${p}output.LayerNorm.weight`, [h], 1, 0.1);
    add(`${p}output.LayerNorm.bias`, [h], 0, 0.02);
  }
  if (shape.family === "mpnet") add("encoder.relative_attention_bias.weight", [32, shape.heads], 0, 0.5);
  add("pooler.dense.weight", [h, h]);
  add("pooler.dense.bias", [h], 0, 0.02);

  writeFloat32Safetensors(
    join(dir, "model.safetensors.tmp"),
    tensors.map(([name, s, center, spread]) => ({
      name,
      shape: s,
      values: () => {
        const data = new Float32Array(s.reduce((a, b) => a * b, 1));
        for (let i = 0; i < data.length; i++) data[i] = center + (rand() * 2 - 1) * spread;
        return data;
      },
    })),
  );
  const config = {
    ...layout.config,
    vocab_size: shape.vocab,
    hidden_size: h,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    intermediate_size: ff,
    hidden_act: "gelu",
    max_position_embeddings: shape.maxPositions,
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
  for (const f of ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "sentencepiece.bpe.model"]) {
    if (existsSync(join(tokenizerFrom, f))) copyFileSync(join(tokenizerFrom, f), join(dir, f));
  }
  writeFileSync(join(dir, "GENERATED.json"), JSON.stringify({ note: "seeded random weights for benchmarks", seed, shape }, null, 2));
  // Rename last: an interrupted run leaves no half-written model.safetensors.
  renameSync(join(dir, "model.safetensors.tmp"), join(dir, "model.safetensors"));
  return dir;
}

/** Writes an F32 safetensors file; each tensor's values are produced (and dropped) one at a time. */
function writeFloat32Safetensors(file: string, tensors: { name: string; shape: readonly number[]; values: () => Float32Array }[]): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const { name, shape } of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let headerJson = JSON.stringify(header);
  headerJson += " ".repeat((8 - (headerJson.length % 8)) % 8); // keep the data 8-byte aligned
  const fd = openSync(file, "w");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerJson.length));
  writeSync(fd, len);
  writeSync(fd, Buffer.from(headerJson, "utf8"));
  for (const t of tensors) writeSync(fd, new Uint8Array(t.values().buffer));
  closeSync(fd);
}

/**
 * A copy of a model folder whose weights are stored as float32 (the values up-cast exactly): the form
 * all-MiniLM-L6-v2 itself is published in, for measuring load time and memory on it.
 */
export async function makeFloat32Copy(src: string, dir: string): Promise<string> {
  if (existsSync(join(dir, "model.safetensors"))) return dir;
  mkdirSync(dir, { recursive: true });
  const { openSafetensorsFile } = await import("../src/io/safetensors.js");
  const opened = openSafetensorsFile(join(src, "model.safetensors"));
  try {
    writeFloat32Safetensors(join(dir, "model.safetensors.tmp"), opened.tensors.map((t) => ({ name: t.name, shape: t.shape, values: () => t.float32() })));
  } finally {
    opened.close();
  }
  cpSync(src, dir, { recursive: true, filter: (from) => !/\.(safetensors|bin|onnx)$/.test(from) && !from.endsWith("/onnx") });
  renameSync(join(dir, "model.safetensors.tmp"), join(dir, "model.safetensors"));
  return dir;
}
