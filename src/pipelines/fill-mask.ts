/**
 * The "fill-mask" pipeline, after Hugging Face's FillMaskPipeline: for every [MASK] in a text, the
 * top-k vocabulary tokens by softmax over the vocabulary, each with the text it would make.
 * Logits are computed at the [MASK] positions only.
 */
import { BertForMaskedLM } from "../heads/masked-lm.js";
import { softmax, topK as topIndices } from "../heads/scores.js";
import type { Encoding } from "../tokenizers/encoding.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { checkTopK, encodeForModel, inBatches, loadPipelineParts, type PipelineOptions, type PipelineParts } from "./common.js";

export interface FillMaskOptions {
  /** Predictions per [MASK]. Default 5, as Hugging Face's pipeline. */
  topK?: number;
}

export interface FillMaskPrediction {
  /** softmax probability over the vocabulary. */
  score: number;
  /** Vocabulary id. */
  token: number;
  /** The token decoded alone ("paris", "##ing"). */
  token_str: string;
  /**
   * The input with this [MASK] filled, decoded as Hugging Face does: special tokens dropped when the
   * text has one [MASK]; with several, kept ([CLS] … [MASK] … [SEP]) and only this one filled.
   */
  sequence: string;
  /** Which [MASK] of the text this fills (0 = the first). */
  mask: number;
}

export interface MaskPredictions {
  /** Token index of the [MASK] in the encoded input. */
  position: number;
  predictions: FillMaskPrediction[];
  /** [vocab] raw scores at this position (Hugging Face's `logits` row). */
  logits: Float32Array;
}

export interface FillMaskResult {
  masks: MaskPredictions[];
}

export interface FillMaskPipeline {
  /** One text: the predictions of each [MASK], the first mask's top-k first. */
  (text: string, options?: FillMaskOptions): Promise<FillMaskPrediction[]>;
  (texts: readonly string[], options?: FillMaskOptions): Promise<FillMaskPrediction[][]>;
  readonly task: "fill-mask";
  readonly model: BertForMaskedLM;
  readonly tokenizer: Tokenizer;
  /** The mask token to write in texts, e.g. "[MASK]". */
  readonly maskToken: string;
  /** Predictions grouped per [MASK], with the logits, for each text in order. */
  run(texts: readonly string[], options?: FillMaskOptions): Promise<FillMaskResult[]>;
}

export async function fillMaskPipeline(modelNameOrPath: string, options: PipelineOptions = {}): Promise<FillMaskPipeline> {
  const parts = await loadPipelineParts("fill-mask", modelNameOrPath, options);
  const maskId = parts.tokenizer.maskTokenId;
  const maskToken = parts.tokenizer.specialTokens.mask;
  if (maskId === undefined || maskToken === undefined) throw new Error(`${parts.dir}: the tokenizer has no mask token; fill-mask needs one`);
  const run = async (texts: readonly string[], opts: FillMaskOptions = {}): Promise<FillMaskResult[]> => {
    const k = opts.topK ?? 5;
    checkTopK(k);
    texts.forEach((t, i) => {
      if (typeof t !== "string") throw new TypeError(`Expected a string for text ${i} but received ${JSON.stringify(t)}`);
    });
    return inBatches(texts, parts.batchSize, (batch) => fill(parts, batch, maskId, maskToken, k));
  };
  async function call(input: string | readonly string[], opts?: FillMaskOptions) {
    const flat = (r: FillMaskResult) => r.masks.flatMap((m) => m.predictions);
    if (Array.isArray(input)) return (await run(input, opts)).map(flat);
    return flat((await run([input as string], opts))[0]);
  }
  return Object.assign(call, { task: "fill-mask" as const, model: parts.head, tokenizer: parts.tokenizer, maskToken, run }) as FillMaskPipeline;
}

function fill(parts: PipelineParts<"fill-mask">, texts: readonly string[], maskId: number, maskToken: string, k: number): FillMaskResult[] {
  const encodings = encodeForModel(parts, texts);
  const positions = encodings.map((e, i) => {
    const p = BertForMaskedLM.positionsOf(e, maskId);
    if (p.length === 0) throw new Error(`No mask token (${maskToken}) found in input ${i}: ${JSON.stringify(texts[i])}`);
    return p;
  });
  const out = parts.head.forward(encodings, { positions });
  return encodings.map((enc, i) => ({
    masks: positions[i].map((position, m) => {
      const logits = out.logits[i].row(m);
      const probs = softmax(logits);
      const predictions = topIndices(probs, k).map((token) => ({
        score: probs[token],
        token,
        token_str: parts.tokenizer.decode([token]),
        sequence: filledSequence(parts.tokenizer, enc, position, token, positions[i].length === 1),
        mask: m,
      }));
      return { position, predictions, logits };
    }),
  }));
}

/** The input ids with one [MASK] replaced, padding removed, decoded (FillMaskPipeline.postprocess). */
function filledSequence(tokenizer: Tokenizer, enc: Encoding, position: number, token: number, singleMask: boolean): string {
  const ids = enc.inputIds.slice();
  ids[position] = token;
  const pad = tokenizer.padTokenId;
  return tokenizer.decode(
    ids.filter((id) => id !== pad),
    { skipSpecialTokens: singleMask },
  );
}
