/**
 * Reads a checkpoint's tensors by their Hugging Face names, whichever way the file spells them:
 * - with or without the base-model prefix ("bert.", "roberta."): detected once from the file's names,
 *   not retried per tensor;
 * - legacy LayerNorm names "gamma"/"beta" for "weight"/"bias".
 * It records what was used, so a load report (missing / unexpected keys) can be given like
 * Hugging Face's `output_loading_info`.
 */

/** What a weight file loader provides (io/WeightStore satisfies it). Data is always float32. */
export interface WeightSource {
  get(name: string): { readonly shape: readonly number[]; readonly data: Float32Array } | undefined;
  names(): string[];
}

export interface LoadReport {
  /** Parameters the model expected that the checkpoint does not have. */
  missingKeys: string[];
  /** Tensors in the checkpoint that nothing used (e.g. a classifier when loading the bare encoder). */
  unexpectedKeys: string[];
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

export class Checkpoint {
  /** "bert." when the file stores base-model tensors under that prefix, else "". */
  readonly basePrefix: string;
  private readonly byName = new Map<string, string>(); // canonical name → file name
  private readonly used = new Set<string>();
  private readonly missing: string[] = [];

  constructor(private readonly source: WeightSource, baseModelPrefix: string, readonly label = "checkpoint") {
    const names = source.names();
    const prefixed = `${baseModelPrefix}.`;
    this.basePrefix = names.some((n) => n.startsWith(prefixed)) ? prefixed : "";
    for (const fileName of names) {
      const canonical = fileName.replace(/\.gamma$/, ".weight").replace(/\.beta$/, ".bias");
      this.byName.set(canonical, fileName);
    }
  }

  /** A base-model tensor (e.g. "embeddings.word_embeddings.weight"), checked against its expected shape. */
  base(name: string, shape: readonly number[]): Float32Array {
    return this.require(this.basePrefix + name, shape);
  }

  baseOptional(name: string, shape: readonly number[]): Float32Array | undefined {
    return this.optional(this.basePrefix + name, shape);
  }

  hasBase(name: string): boolean {
    return this.byName.has(this.basePrefix + name);
  }

  /** A tensor by its full name (heads: "classifier.weight", "cls.predictions.bias"). */
  require(name: string, shape: readonly number[]): Float32Array {
    const t = this.optional(name, shape);
    if (!t) {
      this.missing.push(name);
      throw new CheckpointError(`${this.label}: missing weight "${name}" (expected shape [${shape.join(", ")}])`);
    }
    return t;
  }

  /** Like require(), but absence is recorded as missing instead of thrown (the caller degrades). */
  optional(name: string, shape: readonly number[]): Float32Array | undefined {
    const fileName = this.byName.get(name);
    if (fileName === undefined) return undefined;
    const t = this.source.get(fileName);
    if (!t) return undefined;
    const expected = shape.reduce((a, b) => a * b, 1);
    const sameShape = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
    if (!sameShape || t.data.length !== expected) {
      throw new CheckpointError(
        `${this.label}: weight "${fileName}" has shape [${t.shape.join(", ")}] but the config implies [${shape.join(", ")}]`,
      );
    }
    this.used.add(fileName);
    return t.data;
  }

  /** Records an expected-but-absent parameter without failing (e.g. the pooler of a token classifier). */
  noteMissing(name: string): void {
    this.missing.push(name);
  }

  report(): LoadReport {
    const unexpected = this.source.names().filter((n) => !this.used.has(n));
    return { missingKeys: [...this.missing].sort(), unexpectedKeys: unexpected.sort() };
  }
}
