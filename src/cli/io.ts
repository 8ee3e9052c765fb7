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
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { access } from "node:fs/promises";
import { extname } from "node:path";
import { createInterface } from "node:readline";
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
    if (!fromStdin) {
      try {
        await access(options.input);
      } catch {
        throw new CliError(`Input file not found: ${options.input}`);
      }
    }
    const stream = fromStdin ? stdin : createReadStream(options.input, { encoding: "utf8" });
    const name = fromStdin ? "stdin" : options.input;
    records = extname(options.input).toLowerCase() === ".jsonl" ? await readJsonl(stream, name) : await readTextLines(stream);
  } else if (!stdin.isTTY) {
    records = await readTextLines(stdin);
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

async function* lines(stream: Readable): AsyncGenerator<string> {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } catch (err) {
    throw new CliError(`Cannot read input: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function readTextLines(stream: Readable): Promise<TextInputRecord[]> {
  const out: TextInputRecord[] = [];
  for await (const line of lines(stream)) if (line.trim().length > 0) out.push({ text: line });
  return out;
}

async function readJsonl(stream: Readable, name: string): Promise<TextInputRecord[]> {
  const out: TextInputRecord[] = [];
  let lineNo = 0;
  for await (const line of lines(stream)) {
    lineNo++;
    if (line.trim().length === 0) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new CliError(`${name}:${lineNo}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    out.push(recordFromJson(value, `${name}:${lineNo}`));
  }
  return out;
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
