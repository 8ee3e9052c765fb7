import type { NormalizedString } from "../normalized-string.js";

/** First stage: turns the raw text into the text the pre-tokenizer splits, keeping the alignment. */
export interface Normalizer {
  normalize(text: string): NormalizedString;
  /** Does this normalizer lower-case? (Added tokens marked `normalized` are then matched case-blind.) */
  readonly lowercases: boolean;
}
