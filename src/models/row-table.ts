/**
 * A large table the model reads by row (the word embeddings: [vocab, width]), kept in the weight
 * file until it is needed. Embedding a few texts touches a few dozen of its 30k+ rows, so those rows
 * are read from the file one by one (a positional read each); once a load has asked for more than
 * WHOLE_TABLE_AFTER distinct-or-not rows, the whole table is read (in the file's precision) and rows
 * come from memory. This spares a short run reading, and faulting in, tens of megabytes it never uses.
 */
import type { WeightValues } from "../backend/backend.js";
import { halfBitsToFloat32 } from "../io/dtype.js";
import type { StoredTensor } from "../io/stored-tensor.js";

/** Rows read one by one before the table is read whole (for a 30k-row table: 1/16 of it). */
export function wholeTableAfter(rows: number): number {
  return Math.max(64, Math.floor(rows / 16));
}

export class RowTable {
  private table: WeightValues | undefined;
  /** Rows read one at a time so far. */
  private rowReads = 0;
  private readonly rowBits: Uint16Array | undefined;

  /** `whole` reads the whole table in its stored precision (Checkpoint.baseValues). */
  constructor(
    private readonly tensor: StoredTensor,
    readonly rows: number,
    readonly cols: number,
    private readonly whole: () => WeightValues,
  ) {
    this.rowBits = tensor.storage === "f32" ? undefined : new Uint16Array(cols);
  }

  /** A table already in memory (the same interface, nothing lazy). */
  static inMemory(values: WeightValues, rows: number, cols: number): RowTable {
    const table = new RowTable(NO_TENSOR, rows, cols, () => values);
    table.table = values;
    return table;
  }

  /** Whether the whole table has been read (work counts for tests). */
  get isLoaded(): boolean {
    return this.table !== undefined;
  }

  /** Rows read from the file one at a time (work counts for tests). */
  get rowsReadSingly(): number {
    return this.rowReads;
  }

  /** The whole table, read now if it was not yet (tied weights: the masked-LM decoder). */
  values(): WeightValues {
    this.table ??= this.whole();
    return this.table;
  }

  /** Row `id` as float32 into out[at, at + cols) (half-precision values are converted exactly). */
  gather(id: number, out: Float32Array, at: number): void {
    const cols = this.cols;
    const target = out.subarray(at, at + cols);
    if (this.table === undefined && this.rowReads < wholeTableAfter(this.rows)) {
      this.rowReads++;
      if (this.rowBits === undefined) {
        if (this.tensor.copyRangeTo(id * cols, target)) return;
      } else if (this.tensor.copyRangeTo(id * cols, this.rowBits)) {
        halfBitsToFloat32(this.tensor.storage as "f16" | "bf16", this.rowBits, 0, target);
        return;
      }
    }
    const table = this.values();
    if (table instanceof Float32Array) target.set(table.subarray(id * cols, (id + 1) * cols));
    else halfBitsToFloat32(table.format, table.bits, id * cols, target);
  }
}

/** Stands in for the tensor of a table that is in memory from the start (never read). */
const NO_TENSOR: StoredTensor = {
  name: "(in memory)",
  dtype: "F32",
  shape: [],
  numel: 0,
  storage: "f32",
  float32: () => new Float32Array(0),
  copyTo: () => undefined,
  copyRangeTo: () => false,
};
