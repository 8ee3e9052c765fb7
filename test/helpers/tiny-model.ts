/** A seeded random BERT small enough for fast unit tests that need nothing from ../shared. */
import { parseBertConfig, type BertConfig } from "../../src/config/bert-config.js";
import { inMemoryTensor, type StoredTensor } from "../../src/io/stored-tensor.js";
import type { WeightSource } from "../../src/models/checkpoint.js";
import { mulberry32 } from "./random.js";

export { mulberry32 };


export class MapWeights implements WeightSource {
  constructor(readonly map: Map<string, { shape: number[]; data: Float32Array }>) {}
  get(name: string): StoredTensor | undefined {
    const t = this.map.get(name);
    return t && inMemoryTensor({ name, dtype: "F32", shape: t.shape, data: t.data });
  }
  names() {
    return [...this.map.keys()];
  }
}

export function tinyConfig(overrides: Record<string, unknown> = {}): BertConfig {
  return parseBertConfig({
    model_type: "bert",
    vocab_size: 50,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 24,
    max_position_embeddings: 40,
    type_vocab_size: 2,
    hidden_act: "gelu",
    layer_norm_eps: 1e-12,
    ...overrides,
  });
}

/** Random weights with Hugging Face names; prefix "bert." as a task checkpoint would store them. */
export function tinyWeights(config: BertConfig, seed = 1, prefix = "", withPooler = true): MapWeights {
  const rand = mulberry32(seed);
  const map = new Map<string, { shape: number[]; data: Float32Array }>();
  const add = (name: string, shape: number[], center = 0, spread = 0.5) => {
    const n = shape.reduce((a, b) => a * b, 1);
    map.set(prefix + name, { shape, data: Float32Array.from({ length: n }, () => center + (rand() * 2 - 1) * spread) });
  };
  const h = config.hidden_size, ff = config.intermediate_size;
  add("embeddings.word_embeddings.weight", [config.vocab_size, h]);
  add("embeddings.position_embeddings.weight", [config.max_position_embeddings, h]);
  add("embeddings.token_type_embeddings.weight", [config.type_vocab_size, h]);
  add("embeddings.LayerNorm.weight", [h], 1, 0.2);
  add("embeddings.LayerNorm.bias", [h], 0, 0.1);
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const m of ["query", "key", "value"]) {
      add(`${p}attention.self.${m}.weight`, [h, h]);
      add(`${p}attention.self.${m}.bias`, [h], 0, 0.1);
    }
    add(`${p}attention.output.dense.weight`, [h, h]);
    add(`${p}attention.output.dense.bias`, [h], 0, 0.1);
    add(`${p}attention.output.LayerNorm.weight`, [h], 1, 0.2);
    add(`${p}attention.output.LayerNorm.bias`, [h], 0, 0.1);
    add(`${p}intermediate.dense.weight`, [ff, h]);
    add(`${p}intermediate.dense.bias`, [ff], 0, 0.1);
    add(`${p}output.dense.weight`, [h, ff]);
    add(`${p}output.dense.bias`, [h], 0, 0.1);
    add(`${p}output.LayerNorm.weight`, [h], 1, 0.2);
    add(`${p}output.LayerNorm.bias`, [h], 0, 0.1);
  }
  if (withPooler) {
    add("pooler.dense.weight", [h, h]);
    add("pooler.dense.bias", [h], 0, 0.1);
  }
  return new MapWeights(map);
}

/**
 * Seeded random tensors for the given [name, shape] list, drawn in list order (LayerNorm gains around
 * 1, everything else around 0): the same list and seed give the same weights anywhere, so a PyTorch
 * reference can be computed once on them (test/fixtures) without storing the weights.
 */
export function seededWeights(specs: readonly (readonly [string, readonly number[]])[], seed: number): MapWeights {
  const rand = mulberry32(seed);
  const map = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of specs) {
    const n = shape.reduce((a, b) => a * b, 1);
    const center = /(LayerNorm|layer_norm)\.weight$/.test(name) ? 1 : 0;
    map.set(name, { shape: [...shape], data: Float32Array.from({ length: n }, () => center + (rand() * 2 - 1) * 0.5) });
  }
  return new MapWeights(map);
}
