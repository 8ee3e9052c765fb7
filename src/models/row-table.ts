/**
 * A large table the model reads by row (the word embeddings: [vocab, width]), kept in the weight
 * file until it is needed. Three ways to its rows, best first:
 * - mapped: a backend that maps files (native: Backend.mapFile) hands out the file itself as memory,
 *   so the table is a view on the mapping in its stored precision; the kernels gather the rows of a
 *   batch from it and the OS reads only the pages they touch. Nothing is read, copied or converted in JS.
 * - rows read singly: a short run reads only its tokens' rows (a positional read each);
 * - whole: once a load has asked for more than wholeTableAfter(rows) rows, the whole table is read
 *   (in the file's precision) and rows come from memory.
 * The last two spare a short run reading, and faulting in, tens of megabytes it never uses.
 */
import type { WeightValues } from "../backend/backend.js";
import { halfBitsToFloat32 } from "../io/dtype.js";
import type { StoredTensor } from "../io/stored-tensor.js";

/** Rows read one by one before the table is read whole (for a 30k-row table: 1/16 of it). */
export function wholeTableAfter(rows: number): number {
  return Math.max(64, Math.floor(rows / 16));
}

/** Backend.mapFile's shape. */
export type FileMapper = (path: string, expectedBytes: number) => ArrayBuffer | undefined;

export class RowTable {
  private table: WeightValues | undefined;
  /** The table as a view on the mapped file; undefined until tried, null when it cannot be mapped. */
  private mapping: WeightValues | null | undefined;
  /** Rows read one at a time so far. */
  private rowReads = 0;
  private readonly rowBits: Uint16Array | undefined;

  /** `whole` reads the whole table in its stored precision (Checkpoint.baseValues); `map` maps a file (Backend.mapFile). */
  constructor(
    private readonly tensor: StoredTensor,
    readonly rows: number,
    readonly cols: number,
    private readonly whole: () => WeightValues,
    private readonly map?: FileMapper,
  ) {
    this.rowBits = tensor.storage === "f32" ? undefined : new Uint16Array(cols);
    if (!map) this.mapping = null;
  }

  /** A table already in memory (the same interface, nothing lazy). */
  static inMemory(values: WeightValues, rows: number, cols: number): RowTable {
    const table = new RowTable(NO_TENSOR, rows, cols, () => values);
    table.table = values;
    return table;
  }

  /** Whether the whole table has been read into memory (work counts for tests). */
  get isLoaded(): boolean {
    return this.table !== undefined;
  }

  /** Whether the table is read in place from a mapping of its file (work counts for tests). */
  get isMapped(): boolean {
    return this.table === undefined && this.mapping != null;
  }

  /** Rows read from the file one at a time (work counts for tests). */
  get rowsReadSingly(): number {
    return this.rowReads;
  }

  /** The whole table when it can be had without reading it (read already, or mapped); else undefined. */
  resident(): WeightValues | undefined {
    return this.table ?? this.mapped();
  }

  /** The whole table, read now if it was not yet and cannot be mapped (tied weights: the masked-LM decoder). */
  values(): WeightValues {
    return this.resident() ?? (this.table = this.whole());
  }

  /** Row `id` as float32 into out[at, at + cols) (half-precision values are converted exactly). */
  gather(id: number, out: Float32Array, at: number): void {
    const cols = this.cols;
    const target = out.subarray(at, at + cols);
    if (this.resident() === undefined && this.rowReads < wholeTableAfter(this.rows)) {
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

  /** The view on the mapped file, mapped on first use; undefined when there is no mapping. */
  private mapped(): WeightValues | undefined {
    if (this.mapping === undefined) this.mapping = this.mapView() ?? null;
    return this.mapping ?? undefined;
  }

  private mapView(): WeightValues | undefined {
    const { location, storage, numel } = this.tensor;
    if (!location || !this.map || numel !== this.rows * this.cols) return undefined;
    const elementBytes = storage === "f32" ? 4 : 2;
    // A typed array needs its element alignment; safetensors writers align tensors, but a file need not.
    if (location.byteOffset % elementBytes !== 0) return undefined;
    const buffer = this.map(location.file, location.fileBytes);
    if (!buffer || location.byteOffset + numel * elementBytes > buffer.byteLength) return undefined;
    if (storage === "f32") return new Float32Array(buffer, location.byteOffset, numel);
    return { format: storage, bits: new Uint16Array(buffer, location.byteOffset, numel) };
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
