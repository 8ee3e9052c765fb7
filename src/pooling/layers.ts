/**
 * Which layer(s) the token vectors come from before pooling. Hidden-state index 0 is the embedding
 * output and index L the last layer, as in Hugging Face's hidden_states.
 */

export type LayerSelection =
  | { kind: "last" }
  /** Average of the first Transformer layer's output (hidden_states[1]) and the last (SimCSE / BERT-whitening "first-last-avg"). */
  | { kind: "first_last_avg" }
  /** The last k layers, averaged or concatenated along the hidden axis. */
  | { kind: "last_k"; k: number; combine: "mean" | "concat" }
  /** Explicit hidden-state indices (negative from the end), averaged or concatenated. */
  | { kind: "indices"; indices: number[]; combine: "mean" | "concat" };

export const LAST_LAYER: LayerSelection = { kind: "last" };

/** Parses "last", "first-last-avg", "last4-mean", "last4-concat", "-1,-2,-3" or "0,12:concat". */
export function parseLayerSelection(text: string): LayerSelection {
  const s = text.trim().toLowerCase();
  if (s === "last" || s === "-1") return LAST_LAYER;
  if (s === "first-last-avg" || s === "first_last_avg") return { kind: "first_last_avg" };
  const lastK = /^last[-_]?(\d+)(?:[-_:](mean|avg|concat))?$/.exec(s);
  if (lastK) {
    const k = Number(lastK[1]);
    if (k < 1) throw new Error(`Expected at least one layer in "${text}"`);
    return { kind: "last_k", k, combine: lastK[2] === "concat" ? "concat" : "mean" };
  }
  const list = /^(-?\d+(?:\s*,\s*-?\d+)*)(?::(mean|avg|concat))?$/.exec(s);
  if (list) {
    return { kind: "indices", indices: list[1].split(",").map((x) => Number(x.trim())), combine: list[2] === "concat" ? "concat" : "mean" };
  }
  throw new Error(`Cannot parse layer selection "${text}"; expected last, first-last-avg, lastK-mean, lastK-concat or a list like -1,-2`);
}

/** Hidden-state indices (0..numLayers) a selection reads, and how they combine. */
export function resolveLayers(sel: LayerSelection, numLayers: number): { indices: number[]; combine: "mean" | "concat" } {
  const n = numLayers + 1; // hidden states incl. embeddings
  const norm = (i: number) => {
    const j = i < 0 ? n + i : i;
    if (j < 0 || j >= n) throw new RangeError(`Layer ${i} is out of range for a model with ${numLayers} layers (0..${numLayers}, or negative)`);
    return j;
  };
  switch (sel.kind) {
    case "last":
      return { indices: [numLayers], combine: "mean" };
    case "first_last_avg":
      return { indices: [1, numLayers], combine: "mean" };
    case "last_k":
      if (sel.k > numLayers) throw new RangeError(`Asked for the last ${sel.k} layers of a ${numLayers}-layer model`);
      return { indices: Array.from({ length: sel.k }, (_, i) => numLayers - sel.k + 1 + i), combine: sel.combine };
    case "indices":
      return { indices: sel.indices.map(norm), combine: sel.combine };
  }
}
