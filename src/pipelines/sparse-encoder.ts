/**
 * SparseEncoder: text → SPLADE vector (vocabulary id → weight) from a masked-LM checkpoint, as
 * sentence-transformers v5's SparseEncoder with MLMTransformer + SpladePooling("max").
 *
 *   const encoder = await SparseEncoder.load("naver/splade-cocondenser-ensembledistil");
 *   const [q, d] = await encoder.embed(["query", "document"], { topK: 256 });
 *   sparseDot(q, d);
 *
 * Texts run packed in batches; the vocabulary projection runs in row × vocabulary blocks that are
 * reduced as they come (see BertForMaskedLM.forEachLogitBlock), so memory does not grow with
 * sequence length × vocabulary. Over-long texts are truncated and reported.
 */
import type { ModelLocation } from "../io/model-source.js";
import { join, yieldToEventLoop } from "../io/host.js";
import type { Backend } from "../backend/backend.js";
import type { BackendName } from "../backend/index.js";
import { BertForMaskedLM } from "../heads/masked-lm.js";
import { resolveModel, type ResolveOptions } from "../io/hub.js";
import { readModelJsonIfExists } from "../io/model-files.js";
import { SpladeAccumulator, checkSpladeModules } from "../pooling/splade.js";
import { readPrompts, resolvePrompt, type PromptOptions, type Prompts } from "../pooling/st-modules.js";
import type { SparseVector } from "../pooling/sparse.js";
import type { ModelInput } from "../tokenizers/encoding.js";
import { loadTokenizer, type Tokenizer } from "../tokenizers/index.js";

export interface SparseEncoderOptions {
  backend?: Backend | BackendName;
  resolve?: ResolveOptions;
  /** Token limit per text (special tokens included). Default: max_seq_length, else the model's. */
  maxLength?: number;
}

export interface SparseEmbedOptions extends PromptOptions {
  /** Keep each vector's k largest weights (sentence-transformers' max_active_dims). Default: all. */
  topK?: number;
  /** Texts per forward pass (default 32). */
  batchSize?: number;
  /** Called for each text that was truncated, with its full token count. */
  onTruncate?: (index: number, numTokens: number, maxLength: number) => void;
}

export class SparseEncoder {
  private constructor(
    readonly head: BertForMaskedLM,
    readonly tokenizer: Tokenizer,
    readonly modelDir: string,
    readonly maxLength: number,
    /** config_sentence_transformers.json's prompts. */
    readonly prompts: Prompts,
  ) {}

  static async load(nameOrPath: ModelLocation, options: SparseEncoderOptions = {}): Promise<SparseEncoder> {
    const { dir } = await resolveModel(nameOrPath, options.resolve);
    const [head, tokenizer] = await Promise.all([BertForMaskedLM.fromPretrained(dir, { backend: options.backend }), loadTokenizer(dir)]);
    const config = head.model.config;
    const limit = Math.min(config.max_position_embeddings - (head.model.family.positionRule === "roberta" ? config.pad_token_id + 1 : 0), tokenizer.modelMaxLength);
    await checkSpladeModules(dir);
    const maxSeqLength = await readMaxSeqLength(dir);
    const maxLength = options.maxLength ?? Math.min(maxSeqLength ?? limit, limit);
    if (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > limit) {
      throw new Error(`Expected maxLength between 2 and ${limit} for ${dir} but received ${options.maxLength}`);
    }
    return new SparseEncoder(head, tokenizer, dir, maxLength, await readPrompts(dir));
  }

  /** The dense size of the vectors: the vocabulary. */
  get dimension(): number {
    return this.head.vocabSize;
  }

  /** One sparse vector per text, in input order. */
  async embed(texts: readonly string[], options: SparseEmbedOptions = {}): Promise<SparseVector[]> {
    const { topK, batchSize = 32 } = options;
    if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) throw new Error(`Expected a positive integer topK but received ${topK}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`Expected a positive integer batchSize but received ${batchSize}`);
    const prompt = resolvePrompt(this.prompts, options);
    const encodings = texts.map((text, i) => {
      if (typeof text !== "string") throw new TypeError(`Expected a string for text ${i} but received ${typeof text}`);
      const enc = this.tokenizer.encode(prompt + text, null, { truncation: true, maxLength: this.maxLength });
      if (enc.numTruncatedTokens) options.onTruncate?.(i, enc.inputIds.length + enc.numTruncatedTokens, this.maxLength);
      return enc;
    });
    const out: SparseVector[] = [];
    for (let start = 0; start < encodings.length; start += batchSize) {
      out.push(...this.embedEncoded(encodings.slice(start, start + batchSize), topK));
      // Let the caller's timers and I/O run between batches.
      await yieldToEventLoop();
    }
    return out;
  }

  /** SPLADE vectors of already tokenized inputs, run as one packed forward pass. */
  embedEncoded(inputs: readonly ModelInput[], topK?: number): SparseVector[] {
    const encoded = this.head.model.forward(inputs);
    const acc = new SpladeAccumulator(encoded.seqStarts, this.dimension);
    this.head.forEachLogitBlock(encoded.hidden, encoded.seqStarts[encoded.batchSize], "relu", (block) => acc.add(block));
    return acc.vectors(topK);
  }

  /** The vocabulary token of each entry of a vector (e.g. "berlin", "##ing"). */
  tokens(vector: SparseVector): string[] {
    return this.tokenizer.convertIdsToTokens(vector.indices);
  }
}

/** sentence_bert_config.json's max_seq_length, when the folder has one. */
async function readMaxSeqLength(dir: string): Promise<number | undefined> {
  const cfg = (await readModelJsonIfExists(join(dir, "sentence_bert_config.json"))) as { max_seq_length?: unknown } | null | undefined;
  const value = cfg?.max_seq_length;
  return typeof value === "number" ? value : undefined;
}
