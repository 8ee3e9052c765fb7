/**
 * Reads a checkpoint's tensors by their Hugging Face names, whichever way the file spells them:
 * - with or without the base-model prefix ("bert.", "roberta."): detected once from the file's names,
 *   not retried per tensor;
 * - legacy LayerNorm names "gamma"/"beta" for "weight"/"bias".
 * It records what was used, so a load report (missing / unexpected keys) can be given like
 * Hugging Face's `output_loading_info`.
 */

import type { HalfValues, WeightValues } from "../backend/backend.js";
import type { StoredTensor } from "../io/stored-tensor.js";
import { RowTable, type FileMapper } from "./row-table.js";

/** What a weight file loader provides (io/WeightStore satisfies it): tensors whose values are read on demand. */
export interface WeightSource {
  get(name: string): StoredTensor | undefined;
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

/** stackedBaseWeights' buffers handed out unread (withDeferredLinearReads), with the read that fills them. */
const pendingReads = new WeakMap<object, () => void>();
let deferringReads = false;

/**
 * Runs `build` with stackedBaseWeights handing out its (reused) buffers unread: when the packed-weight
 * cache supplies every linear layer, the checkpoint's copy of those weights is never looked at, and
 * reading them (~20 MB for MiniLM) is the larger part of such a load. Whoever needs the values after
 * all calls readDeferred(values) before the next stackedBaseWeights call reuses the buffer — the
 * cache does, for a layer its file lacks, right when that layer is prepared.
 */
export function withDeferredLinearReads<T>(build: () => T): T {
  deferringReads = true;
  try {
    return build();
  } finally {
    deferringReads = false;
  }
}

/** Fills values handed out unread by stackedBaseWeights (a no-op for any other array). */
export function readDeferred(values: WeightValues): void {
  const read = pendingReads.get(values);
  if (read === undefined) return;
  pendingReads.delete(values);
  read();
}

export class Checkpoint {
  /** "bert." when the file stores base-model tensors under that prefix, else "". */
  readonly basePrefix: string;
  private readonly byName = new Map<string, string>(); // canonical name → file name
  private readonly used = new Set<string>();
  private readonly missing: string[] = [];
  /** Reused buffers of stackedBaseWeights. */
  private bits?: Uint16Array;
  private floats?: Float32Array;

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
    return this.optional(name, shape) ?? this.missingWeight(name, shape);
  }

  /** Like require(), but absence is recorded as missing instead of thrown (the caller degrades). */
  optional(name: string, shape: readonly number[]): Float32Array | undefined {
    const values = this.tensor(name, shape)?.float32();
    // A NaN/Inf LayerNorm parameter makes every output NaN: refused at load, naming the tensor. (Large
    // matrices are not scanned here; the pipelines check each output vector instead.)
    if (values && /LayerNorm\.(weight|bias)$/.test(name)) {
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new CheckpointError(`${this.label}: weight "${this.byName.get(name)}" holds ${values[bad]} at index ${bad}; expected finite LayerNorm parameters (every output would be NaN)`);
      }
    }
    return values;
  }

  /**
   * A base-model weight matrix in the form the file stores it (f16/bf16 bits stay half precision), in
   * a new array the caller keeps: for tables such as the word embeddings, which are gathered by row.
   */
  baseValues(name: string, shape: readonly number[]): WeightValues {
    const t = this.tensor(this.basePrefix + name, shape);
    if (!t) return this.missingWeight(this.basePrefix + name, shape);
    if (t.storage === "f32") return t.float32();
    const bits = new Uint16Array(t.numel);
    t.copyTo(bits);
    return { format: t.storage, bits };
  }

  /**
   * A base-model table read by row (the word embeddings), left in the file until rows are asked
   * for: a short run reads only the rows of its tokens (RowTable), or, with `map` (Backend.mapFile),
   * reads it in place from a mapping of the file. Shape-checked and marked as used now.
   */
  baseTable(name: string, rows: number, cols: number, map?: FileMapper): RowTable {
    const t = this.tensor(this.basePrefix + name, [rows, cols]);
    if (!t) return this.missingWeight(this.basePrefix + name, [rows, cols]);
    return new RowTable(t, rows, cols, () => this.baseValues(name, [rows, cols]), map);
  }

  /**
   * Base-model matrices of `cols` columns stacked by rows (e.g. query, key and value into one fused
   * projection), in their stored precision when they share it. The result lives in a buffer this
   * checkpoint reuses on the next call: hand it straight to Backend.prepareLinear, which copies it.
   * This keeps loading from allocating (and leaving for the garbage collector) a copy of every layer.
   */
  stackedBaseWeights(names: readonly string[], rowsEach: readonly number[], cols: number): WeightValues {
    const tensors = names.map((n, i) => {
      const t = this.tensor(this.basePrefix + n, [rowsEach[i], cols]);
      return t ?? this.missingWeight(this.basePrefix + n, [rowsEach[i], cols]);
    });
    const total = tensors.reduce((a, t) => a + t.numel, 0);
    const half = tensors[0].storage;
    let values: WeightValues;
    let read: () => void;
    if (half !== "f32" && tensors.every((t) => t.storage === half)) {
      const bits = this.scratch16(total);
      values = { format: half, bits } satisfies HalfValues;
      read = () => {
        let at = 0;
        for (const t of tensors) {
          t.copyTo(bits.subarray(at, at + t.numel));
          at += t.numel;
        }
      };
    } else {
      const floats = this.scratch32(total);
      values = floats;
      read = () => {
        let at = 0;
        for (const t of tensors) {
          const part = floats.subarray(at, at + t.numel);
          if (t.storage === "f32") t.copyTo(part);
          else part.set(t.float32());
          at += t.numel;
        }
      };
    }
    if (deferringReads) pendingReads.set(values, read);
    else read();
    return values;
  }

  /** Drops the buffers stackedBaseWeights reuses (once the model is built; a later call allocates again). */
  releaseBuffers(): void {
    this.bits = undefined;
    this.floats = undefined;
  }

  private scratch16(n: number): Uint16Array {
    if (!this.bits || this.bits.length < n) this.bits = new Uint16Array(n);
    return this.bits.subarray(0, n);
  }

  private scratch32(n: number): Float32Array {
    if (!this.floats || this.floats.length < n) this.floats = new Float32Array(n);
    return this.floats.subarray(0, n);
  }

  private missingWeight(name: string, shape: readonly number[]): never {
    this.missing.push(name);
    throw new CheckpointError(`${this.label}: missing weight "${name}" (expected shape [${shape.join(", ")}])`);
  }

  /** The named tensor after checking its shape, marked as used; undefined when the file lacks it. */
  private tensor(name: string, shape: readonly number[]): StoredTensor | undefined {
    const fileName = this.byName.get(name);
    if (fileName === undefined) return undefined;
    const t = this.source.get(fileName);
    if (!t) return undefined;
    const expected = shape.reduce((a, b) => a * b, 1);
    const sameShape = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
    if (!sameShape || t.numel !== expected) {
      throw new CheckpointError(
        `${this.label}: weight "${fileName}" has shape [${t.shape.join(", ")}] but config.json implies [${shape.join(", ")}]`,
      );
    }
    this.used.add(fileName);
    return t;
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
