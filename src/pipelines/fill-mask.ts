/**
 * The "fill-mask" pipeline, after Hugging Face's FillMaskPipeline: for every [MASK] in a text, the
 * top-k vocabulary tokens by softmax over the vocabulary, each with the text it would make.
 * Logits are computed at the [MASK] positions only.
 */
import type { ModelLocation } from "../io/model-source.js";
import { BertForMaskedLM } from "../heads/masked-lm.js";
import { softmax, topK as topIndices } from "../heads/scores.js";
import type { Encoding } from "../tokenizers/encoding.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { checkTopK, encodeForModel, inBatches, loadPipelineParts, type PipelineOptions, type PipelineParts } from "./common.js";

export interface FillMaskOptions {
  /** Predictions per [MASK]. Default 5, as Hugging Face's pipeline (at most the number of targets). */
  topK?: number;
  /**
   * Score only these tokens (Hugging Face's `targets`): each is looked up in the vocabulary, else
   * tokenised and replaced by its first piece (said through onWarning); scores stay the softmax
   * over the whole vocabulary.
   */
  targets?: string | readonly string[];
  /** Where notes about replaced or ignored targets go (Hugging Face logs them as warnings). */
  onWarning?: (message: string) => void;
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

export async function fillMaskPipeline(modelNameOrPath: ModelLocation, options: PipelineOptions = {}): Promise<FillMaskPipeline> {
  const parts = await loadPipelineParts("fill-mask", modelNameOrPath, options);
  const maskId = parts.tokenizer.maskTokenId;
  const maskToken = parts.tokenizer.specialTokens.mask;
  if (maskId === undefined || maskToken === undefined) throw new Error(`${parts.dir}: the tokenizer has no mask token; fill-mask needs one`);
  const run = async (texts: readonly string[], opts: FillMaskOptions = {}): Promise<FillMaskResult[]> => {
    checkTopK(opts.topK ?? 5);
    const targets = opts.targets === undefined ? undefined : targetIds(parts.tokenizer, opts.targets, opts.onWarning);
    const k = Math.min(opts.topK ?? 5, targets?.length ?? Infinity);
    texts.forEach((t, i) => {
      if (typeof t !== "string") throw new TypeError(`Expected a string for text ${i} but received ${JSON.stringify(t)}`);
    });
    return inBatches(texts, parts.batchSize, (batch, first) => fill(parts, batch, first, maskId, maskToken, k, targets));
  };
  async function call(input: string | readonly string[], opts?: FillMaskOptions) {
    const flat = (r: FillMaskResult) => r.masks.flatMap((m) => m.predictions);
    if (Array.isArray(input)) return (await run(input, opts)).map(flat);
    return flat((await run([input as string], opts))[0]);
  }
  return Object.assign(call, { task: "fill-mask" as const, model: parts.head, tokenizer: parts.tokenizer, maskToken, run }) as FillMaskPipeline;
}

/** FillMaskPipeline.get_target_ids: vocabulary ids of the targets, without repeats. */
function targetIds(tokenizer: Tokenizer, targets: string | readonly string[], onWarning: (message: string) => void = () => {}): number[] {
  const list = typeof targets === "string" ? [targets] : targets;
  const ids = new Set<number>();
  list.forEach((target, i) => {
    if (typeof target !== "string") throw new TypeError(`Expected a string for targets[${i}] but received ${JSON.stringify(target)}`);
    const id = tokenizer.convertTokensToIds(target);
    if (id !== tokenizer.unkTokenId || target === tokenizer.specialTokens.unk) {
      ids.add(id);
      return;
    }
    const first = tokenizer.encode(target, null, { addSpecialTokens: false }).inputIds[0];
    if (first === undefined) {
      onWarning(`The target ${JSON.stringify(target)} is not in the vocabulary and tokenises to nothing: ignored`);
      return;
    }
    onWarning(`The target ${JSON.stringify(target)} is not in the vocabulary: replaced by ${JSON.stringify(tokenizer.convertIdsToTokens([first])[0])}`);
    ids.add(first);
  });
  if (ids.size === 0) throw new Error("At least one target must be in the vocabulary (or tokenise to something) when targets are given");
  return [...ids];
}

function fill(parts: PipelineParts<"fill-mask">, texts: readonly string[], first: number, maskId: number, maskToken: string, k: number, targets?: readonly number[]): FillMaskResult[] {
  const encodings = encodeForModel(parts, texts, {}, first);
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
      // With targets, the top k among them (by the same full-vocabulary probabilities).
      const candidates = targets ? targets.map((t) => probs[t]) : probs;
      const best = topIndices(candidates, k).map((j) => (targets ? targets[j] : j));
      const predictions = best.map((token) => ({
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
