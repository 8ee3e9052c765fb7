/**
 * The input/output contract every bert-ts command shares:
 * - Texts come from positional arguments; or `--input FILE` (`.jsonl`: one JSON value a line, a
 *   string or a two-element array [a, b] for a pair, or {"text", "text_pair"}; any other file: one
 *   text a line; `-` is stdin); or, with neither, the lines of stdin when stdin is not a terminal.
 *   Blank lines are skipped.
 * - `--pair TEXT` makes every positional text the first of a pair with TEXT.
 * - `--format text|jsonl`: default `text` (human-readable) when writing to a terminal, else `jsonl`
 *   (one JSON object a line, Hugging Face field names), so pipes and `--output FILE` get JSONL.
 * - `--output FILE` writes there instead of stdout.
 * - Errors go to stderr as `bert-ts: message` with a non-zero exit code (thrown errors reach bin/).
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import type { Readable } from "node:stream";

/** One unit of input: a text, or a pair of texts. */
export interface TextInputRecord {
  text: string;
  pair?: string;
}

export type OutputFormat = "text" | "jsonl";

/** A usage or input problem: reported without a stack trace. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

export interface InputOptions {
  /** Positional texts. */
  args: readonly string[];
  /** --input FILE ("-" for stdin). */
  input?: string;
  /** --pair TEXT. */
  pair?: string;
  /** Defaults to process.stdin. */
  stdin?: Readable & { isTTY?: boolean };
}

/** Reads the texts of a command from its arguments, --input or stdin (see the contract above). */
export async function readInputs(options: InputOptions): Promise<TextInputRecord[]> {
  const stdin = options.stdin ?? process.stdin;
  let records: TextInputRecord[];
  if (options.args.length > 0) {
    if (options.input !== undefined) throw new CliError("Give texts either as arguments or with --input, not both");
    records = options.args.map((text) => ({ text }));
  } else if (options.input !== undefined) {
    const fromStdin = options.input === "-";
    const name = fromStdin ? "stdin" : options.input;
    const text = fromStdin ? decodeUtf8(await readAll(stdin), name) : await readTextFile(options.input);
    records = extname(options.input).toLowerCase() === ".jsonl" ? readJsonl(text, name) : readTextLines(text);
  } else if (!stdin.isTTY) {
    records = readTextLines(decodeUtf8(await readAll(stdin), "stdin"));
  } else {
    throw new CliError("No input: give texts as arguments, use --input FILE, or pipe lines on stdin");
  }
  if (options.pair !== undefined) {
    for (const r of records) {
      if (r.pair !== undefined) throw new CliError("--pair cannot be combined with input that already holds pairs");
      r.pair = options.pair;
    }
  }
  return records;
}

/** Lines as readline splits them (\n, \r\n or \r). */
function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

function readTextLines(text: string): TextInputRecord[] {
  return splitLines(text)
    .filter((line) => line.trim().length > 0)
    .map((line) => ({ text: line }));
}

function readJsonl(text: string, name: string): TextInputRecord[] {
  const out: TextInputRecord[] = [];
  splitLines(text).forEach((line, i) => {
    if (line.trim().length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new CliError(`${name}:${i + 1}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    out.push(recordFromJson(value, `${name}:${i + 1}`));
  });
  return out;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : (chunk as Buffer));
  } catch (err) {
    throw new CliError(`Cannot read input: ${err instanceof Error ? err.message : String(err)}`);
  }
  return Buffer.concat(chunks);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes UTF-8 text, refusing invalid bytes with where they are: replacing them with U+FFFD
 * silently would embed or classify something other than what the user has. A leading BOM is dropped.
 */
export function decodeUtf8(bytes: Uint8Array, name: string): string {
  try {
    return strictUtf8.decode(bytes).replace(/^\uFEFF/, "");
  } catch {
    // Find the first bad byte: the longest valid prefix decodes, one more byte does not.
    let lo = 0;
    let hi = bytes.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
        lo = mid;
      } catch {
        hi = mid - 1;
      }
    }
    // The prefix may end inside the bad sequence (a lead byte that is never completed): report its start.
    try {
      strictUtf8.decode(bytes.subarray(0, lo));
    } catch {
      while (lo > 0 && (bytes[lo - 1] & 0xc0) === 0x80) lo--;
      if (lo > 0 && bytes[lo - 1] >= 0xc0) lo--;
    }
    let line = 1;
    for (let i = 0; i < lo; i++) if (bytes[i] === 0x0a) line++;
    throw new CliError(`${name}:${line}: invalid UTF-8 at byte ${lo}; save the file as UTF-8`);
  }
}

/** A whole text file, strictly decoded (see decodeUtf8). */
export async function readTextFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === "ENOENT" ? `Input file not found: ${path}` : `Cannot read ${path}: ${code ?? (err as Error).message}`);
  }
  return decodeUtf8(bytes, path);
}

function recordFromJson(value: unknown, where: string): TextInputRecord {
  if (typeof value === "string") return { text: value };
  if (Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && typeof value[1] === "string") {
    return { text: value[0], pair: value[1] };
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    if (typeof obj.text === "string") {
      const pair = obj.text_pair ?? obj.pair;
      if (pair === undefined || pair === null) return { text: obj.text };
      if (typeof pair === "string") return { text: obj.text, pair };
    }
  }
  throw new CliError(`${where}: expected a string, a [text, pair] array of two strings, or {"text": ..., "text_pair": ...}`);
}

/** --format, defaulting to human-readable text on a terminal and JSONL elsewhere. */
export function resolveFormat(format: string | undefined, output: string | undefined, stdoutIsTTY = Boolean(process.stdout.isTTY)): OutputFormat {
  if (format === undefined) return output === undefined && stdoutIsTTY ? "text" : "jsonl";
  if (format === "text" || format === "jsonl") return format;
  throw new CliError(`Unknown --format ${JSON.stringify(format)}: expected text or jsonl`);
}

/** Where a command writes: stdout or --output FILE. Call close() at the end. */
export class OutputSink {
  private readonly file: WriteStream | null;
  private error: Error | null = null;

  constructor(path?: string) {
    this.file = path === undefined ? null : createWriteStream(path, { encoding: "utf8" });
    // Remember the failure (e.g. a missing folder) and report it from close(), not as a crash.
    this.file?.on("error", (err) => (this.error ??= err));
  }

  write(text: string): void {
    if (this.file) this.file.write(text);
    else process.stdout.write(text);
  }

  /** One JSON object a line. */
  writeJsonLine(value: unknown): void {
    this.write(JSON.stringify(value) + "\n");
  }

  async close(): Promise<void> {
    const file = this.file;
    if (!file) return;
    if (!this.error) {
      await new Promise<void>((resolveClose) => {
        file.once("error", () => resolveClose());
        file.end(() => resolveClose());
      });
    }
    if (this.error) throw new CliError(`Cannot write ${String(file.path)}: ${this.error.message}`);
  }
}

/** Parses a positive integer option, naming the flag in the error. */
export function parsePositiveInt(flag: string): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new CliError(`${flag} expects a positive integer, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** Parses an integer option >= 0, naming the flag in the error. */
export function parseNonNegativeInt(flag: string): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} expects an integer >= 0, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** Pads cells so columns line up (first row is the header). */
export function formatTable(rows: readonly (readonly string[])[], rightAligned: readonly boolean[] = []): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => {
          const pad = " ".repeat(widths[i] - [...cell].length);
          return rightAligned[i] ? pad + cell : i === row.length - 1 ? cell : cell + pad;
        })
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
