/**
 * Documents for `bert-ts index`, read in batches so a corpus of millions of lines never sits in
 * memory whole:
 * - `.txt`: a document a line, id `FILE:LINE` (1-based; blank lines skipped).
 * - `.jsonl`: an object a line with a text field (`--field`, default "text") and an id field
 *   (`--id-field`, default "id"; a string or number), or a plain string (id `FILE:LINE`).
 * - `.csv`: a header row; the text column `--field`, the id column `--id-field` when present
 *   (else `FILE:ROW`).
 * - a directory: every file below it is one document (id: its path relative to the directory),
 *   except `.jsonl`/`.csv` files, which are read as above; hidden files and folders are skipped.
 * - `-`: lines of stdin, as `.txt` (ids `stdin:LINE`), or JSONL with `--input-format jsonl`.
 * Text is decoded strictly as UTF-8: a bad byte is an error naming file and line.
 */
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { extname, join, relative } from "node:path";
import type { Readable } from "node:stream";
import { parse as parseCsv } from "csv-parse";
import type { DocumentInput } from "../stores/store.js";
import { CliError, readTextFile } from "./io.js";

export interface DocumentSourceOptions {
  /** The text field of .jsonl/.csv records. Default "text". */
  field?: string;
  /** The id field of .jsonl/.csv records. Default "id" (used when present). */
  idField?: string;
  /** How stdin is read: one document a line (default) or JSONL. */
  stdinFormat?: "txt" | "jsonl";
  /** Documents per yielded batch. Default 1000. */
  batchSize?: number;
  stdin?: Readable;
}

/** Yields the documents of every input in order, `batchSize` at a time. */
export async function* readDocuments(inputs: readonly string[], options: DocumentSourceOptions = {}): AsyncGenerator<DocumentInput[]> {
  const size = options.batchSize ?? 1000;
  let batch: DocumentInput[] = [];
  for (const input of inputs) {
    for await (const doc of documentsOf(input, options)) {
      batch.push(doc);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

async function* documentsOf(input: string, options: DocumentSourceOptions): AsyncGenerator<DocumentInput> {
  if (input === "-") {
    const stdin = options.stdin ?? process.stdin;
    yield* options.stdinFormat === "jsonl" ? jsonlDocuments(strictLines(stdin, "stdin"), "stdin", options) : textDocuments(strictLines(stdin, "stdin"), "stdin");
    return;
  }
  let st;
  try {
    st = await stat(input);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === "ENOENT" ? `Input not found: ${input}` : `Cannot read ${input}: ${code ?? (err as Error).message}`);
  }
  if (st.isDirectory()) {
    yield* directoryDocuments(input, input, options);
    return;
  }
  if (!st.isFile()) throw new CliError(`${input} is not a regular file or a directory`);
  yield* fileDocuments(input, input, options);
}

function fileDocuments(path: string, shown: string, options: DocumentSourceOptions): AsyncGenerator<DocumentInput> {
  const ext = extname(path).toLowerCase();
  if (ext === ".jsonl") return jsonlDocuments(strictLines(createReadStream(path), shown), shown, options);
  if (ext === ".csv") return csvDocuments(path, shown, options);
  if (options.field !== undefined || options.idField !== undefined) {
    throw new CliError(`--field and --id-field apply to .jsonl and .csv inputs; ${shown} is read as one document a line`);
  }
  return textDocuments(strictLines(createReadStream(path), shown), shown);
}

async function* directoryDocuments(root: string, dir: string, options: DocumentSourceOptions): AsyncGenerator<DocumentInput> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith(".")) continue;
    const path = join(dir, e.name);
    const id = relative(root, path);
    if (e.isDirectory()) yield* directoryDocuments(root, path, options);
    else if (e.isFile()) {
      const ext = extname(e.name).toLowerCase();
      if (ext === ".jsonl" || ext === ".csv") {
        yield* fileDocuments(path, id, options);
        continue;
      }
      const text = await readTextFile(path);
      if (text.trim().length > 0) yield { id, text, source: id };
    }
  }
}

async function* textDocuments(lines: AsyncIterable<string>, shown: string): AsyncGenerator<DocumentInput> {
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim().length > 0) yield { id: `${shown}:${n}`, text: line, source: `${shown}:${n}` };
  }
}

async function* jsonlDocuments(lines: AsyncIterable<string>, shown: string, options: DocumentSourceOptions): AsyncGenerator<DocumentInput> {
  const field = options.field ?? "text";
  const idField = options.idField ?? "id";
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim().length === 0) continue;
    const where = `${shown}:${n}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new CliError(`${where}: not valid JSON (${(err as Error).message})`);
    }
    if (typeof value === "string") {
      if (value.trim().length > 0) yield { id: where, text: value, source: where };
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new CliError(`${where}: expected a string or an object with a "${field}" field`);
    }
    const record = value as Record<string, unknown>;
    const text = Object.hasOwn(record, field) ? record[field] : undefined;
    if (typeof text !== "string") throw new CliError(`${where}: expected a string "${field}" field (choose the field with --field)`);
    const id = Object.hasOwn(record, idField) ? record[idField] : undefined;
    if (id !== undefined && typeof id !== "string" && typeof id !== "number") throw new CliError(`${where}: the "${idField}" field must be a string or a number`);
    if (text.trim().length > 0) yield { id: id === undefined ? where : String(id), text, source: where };
  }
}

async function* csvDocuments(path: string, shown: string, options: DocumentSourceOptions): AsyncGenerator<DocumentInput> {
  const field = options.field ?? "text";
  const idField = options.idField ?? "id";
  const parser = createReadStream(path).pipe(parseCsv({ columns: true, skip_empty_lines: true, relax_column_count: true, bom: true }));
  let row = 0;
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) {
      row++;
      if (row === 1 && !Object.hasOwn(record, field)) {
        throw new CliError(`${shown}: no column "${field}" (columns: ${Object.keys(record).join(", ")}); choose one with --field`);
      }
      const text = record[field];
      const id = Object.hasOwn(record, idField) && record[idField] !== "" ? record[idField] : `${shown}:${row}`;
      if (typeof text === "string" && text.trim().length > 0) yield { id, text, source: `${shown}:${row + 1}` };
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${shown}: not valid CSV (${(err as Error).message})`);
  }
}

/** Lines of a byte stream, decoded strictly as UTF-8 (a BOM at the start is dropped). */
export async function* strictLines(stream: Readable, shown: string): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let pending = "";
  let line = 1;
  let first = true;
  try {
    for await (const chunk of stream) {
      let text: string;
      try {
        text = decoder.decode(chunk as Uint8Array, { stream: true });
      } catch {
        throw new CliError(`${shown}:${line + (pending.match(/\n/g)?.length ?? 0)}: invalid UTF-8; save the file as UTF-8`);
      }
      if (first) {
        text = text.replace(/^\uFEFF/, "");
        first = false;
      }
      pending += text;
      const parts = pending.split(/\r\n|\n|\r(?!$)/);
      pending = parts.pop() ?? "";
      for (const p of parts) {
        yield p;
        line++;
      }
    }
    const tail = decoder.decode();
    pending += tail;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`Cannot read ${shown}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  pending = pending.replace(/\r$/, "");
  if (pending.length > 0) yield pending;
}
