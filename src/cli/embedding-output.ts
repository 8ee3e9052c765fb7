/**
 * Writers for embedding results: JSONL (the CLI contract), one JSON array, CSV and NumPy .npy.
 * The format comes from --format, else from --output's extension, else the terminal/pipe default.
 */
import type { Provenance } from "../pipelines/provenance.js";
import { loadedJsonNumberRows, loadedJsonNumbersInto } from "../backend/native.js";
import { CliError, OutputSink, outputFormatOf, type ByteWriter, type NumberWriter } from "./io.js";

export type EmbeddingFormat = "text" | "jsonl" | "json" | "csv" | "npy";

export function resolveEmbeddingFormat(format: string | undefined, output: string | undefined, stdoutIsTTY = Boolean(process.stdout.isTTY)): EmbeddingFormat {
  const known: EmbeddingFormat[] = ["text", "jsonl", "json", "csv", "npy"];
  if (format !== undefined) {
    if (!known.includes(format as EmbeddingFormat)) throw new CliError(`Unknown --format ${JSON.stringify(format)}: expected ${known.join(", ")}`);
    return format as EmbeddingFormat;
  }
  if (output !== undefined) return outputFormatOf(output, known);
  return stdoutIsTTY ? "text" : "jsonl";
}

/** A float32 matrix [rows, cols] in NumPy's .npy v1.0 format (little-endian '<f4', C order). */
export function npyBytes(rows: readonly Float32Array[], cols: number): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, ${cols}), }`;
  const preamble = 10; // magic (6) + version (2) + header length (2)
  header += " ".repeat(63 - ((preamble + header.length) % 64)) + "\n"; // total multiple of 64
  const out = Buffer.alloc(preamble + header.length + rows.length * cols * 4);
  out.write("\x93NUMPY", 0, "latin1");
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, preamble, "latin1");
  let o = preamble + header.length;
  for (const r of rows) {
    if (r.length !== cols) throw new CliError(`.npy needs equal-length vectors; got ${r.length} and ${cols} (pooling "none"?)`);
    for (let c = 0; c < cols; c++, o += 4) out.writeFloatLE(r[c], o);
  }
  return out;
}

/**
 * JSON.stringify({ ...head, [key]: Array.from(vector), ...tail }) + "\n", byte for byte, into `out`,
 * the vector by ByteWriter.floats (no array of boxed numbers). head and tail: plain objects of JSON values.
 * `formatted`: the vector's numbers already written out (jsonNumberRowsInto), used instead of `vector`.
 */
export function writeJsonLineWithVector(out: ByteWriter, head: Record<string, unknown>, key: string, vector: Float32Array, tail?: Record<string, unknown>, formatted?: Uint8Array): void {
  const open = JSON.stringify(head);
  out.text(open.length > 2 ? `${open.slice(0, -1)},` : "{").jsonString(key).text(":");
  if (formatted !== undefined) out.bracketed(formatted);
  else {
    numbers ??= loadedJsonNumbersInto() ?? null;
    out.floats(vector, numbers ?? undefined);
  }
  const rest = tail === undefined ? "{}" : JSON.stringify(tail);
  out.text(rest.length > 2 ? `,${rest.slice(1)}\n` : "}\n");
}

/**
 * writeJsonLineWithVector for rows 0 .. count - 1 (same bytes). With the addon, the vectors' numbers
 * are formatted a group of rows at a time on its thread pool (jsonNumberRowsInto): number printing
 * is most of the output's time, and the pool's other threads would wait for the next batch meanwhile.
 */
export function writeJsonLinesWithVectors(
  out: ByteWriter,
  count: number,
  head: (row: number) => Record<string, unknown>,
  key: string,
  vector: (row: number) => Float32Array,
  tail?: (row: number) => Record<string, unknown> | undefined,
): void {
  rows ??= loadedJsonNumberRows() ?? null;
  if (rows === null || count < 2) {
    for (let r = 0; r < count; r++) writeJsonLineWithVector(out, head(r), key, vector(r), tail?.(r));
    return;
  }
  for (let first = 0; first < count; ) {
    // A group of rows whose 33 bytes of room per value fit the scratch (at least one row).
    const group: Float32Array[] = [];
    let room = 0;
    while (first + group.length < count) {
      const v = vector(first + group.length);
      if (group.length > 0 && room + 33 * v.length > ROWS_SCRATCH_BYTES) break;
      group.push(v);
      room += 33 * v.length;
    }
    const scratch = rowsScratch(room, group.length);
    rows.write(group, scratch.bytes, scratch.ends);
    let slot = 0;
    for (let k = 0; k < group.length; k++) {
      writeJsonLineWithVector(out, head(first + k), key, group[k], tail?.(first + k), scratch.bytes.subarray(slot, scratch.ends[k]));
      slot += 33 * group[k].length;
    }
    first += group.length;
  }
}

/** One 2 MB huge page (where the OS gives them) holds a group: ~160 rows of 384 values. */
const ROWS_SCRATCH_BYTES = 2 << 20;
let rows: ReturnType<typeof loadedJsonNumberRows> | null | undefined;
let scratchBytes: Uint8Array | undefined;
let scratchEnds: Uint32Array | undefined;

/** The reused scratch for a group: `room` bytes of numbers, `count` row ends. */
function rowsScratch(room: number, count: number): { bytes: Uint8Array; ends: Uint32Array } {
  if (scratchBytes === undefined || scratchBytes.length < room) {
    const size = Math.max(room, ROWS_SCRATCH_BYTES);
    // Written whole for every group: on 2 MB pages, one fault instead of 512 (~15 us each on a VM).
    const huge = rows?.hugePageBuffer?.(size);
    scratchBytes = huge ? new Uint8Array(huge) : Buffer.allocUnsafe(size);
  }
  if (scratchEnds === undefined || scratchEnds.length < count) scratchEnds = new Uint32Array(Math.max(count, 256));
  return { bytes: scratchBytes, ends: scratchEnds };
}

/** The addon's number writer, looked up on first use (null: no addon loaded, or a build without it). */
let numbers: NumberWriter | null | undefined;

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One output row: the input text (and its pair partner) and its vector. */
export interface EmbeddingRecord {
  text: string;
  text_pair?: string;
  embedding: Float32Array;
  /** The per-input part of its provenance (tokens, truncated, windows). */
  provenance?: Partial<Provenance>;
}

/** Writes all records at once (json/csv/npy need the whole set; jsonl streams elsewhere). */
export async function writeEmbeddings(
  format: Exclude<EmbeddingFormat, "text" | "jsonl">,
  records: readonly EmbeddingRecord[],
  output: string | undefined,
  /** With --provenance: json becomes {"provenance": this, "data": [...]}. */
  provenance?: Provenance,
): Promise<void> {
  if (format === "npy") {
    if (output === undefined) throw new CliError("--format npy needs --output FILE (binary data)");
    const bytes = npyBytes(records.map((r) => r.embedding), records[0]?.embedding.length ?? 0);
    const npy = new OutputSink(output);
    npy.write(bytes);
    await npy.close();
    return;
  }
  const sink = new OutputSink(output);
  try {
    if (format === "json") {
      const data = records.map((r) => ({ ...r, embedding: Array.from(r.embedding) }));
      sink.write(JSON.stringify(provenance ? { provenance, data } : data) + "\n");
    } else {
      const dim = records[0]?.embedding.length ?? 0;
      const pairs = records.some((r) => r.text_pair !== undefined);
      const textColumns = (r: EmbeddingRecord) => (pairs ? [csvCell(r.text), csvCell(r.text_pair ?? "")] : [csvCell(r.text)]);
      sink.write([...(pairs ? ["text", "text_pair"] : ["text"]), ...Array.from({ length: dim }, (_, i) => `e${i}`)].join(",") + "\n");
      for (const r of records) sink.write([...textColumns(r), ...Array.from(r.embedding, String)].join(",") + "\n");
    }
  } catch (err) {
    await sink.discard();
    throw err;
  }
  await sink.close();
}
