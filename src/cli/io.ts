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
import { randomBytes } from "node:crypto";
import { createWriteStream, statSync, unlinkSync, type WriteStream } from "node:fs";
import { readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
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
  /** --input-format text|jsonl; default: from --input's extension, text for stdin. */
  inputFormat?: string;
  /** The caller reports empty input itself (with its own wording); else it is an error here. */
  allowEmpty?: boolean;
  /** Defaults to process.stdin. */
  stdin?: Readable & { isTTY?: boolean };
}

/** Reads the texts of a command from its arguments, --input or stdin (see the contract above). */
export async function readInputs(options: InputOptions): Promise<TextInputRecord[]> {
  // process.stdin is made on first use (its stream classes, a socket for a pipe: 3-10 ms): only when read.
  const stdin = () => options.stdin ?? process.stdin;
  let records: TextInputRecord[];
  if (options.args.length > 0) {
    if (options.input !== undefined) throw new CliError("Give texts either as arguments or with --input, not both");
    records = options.args.map((text) => ({ text }));
  } else if (options.input !== undefined) {
    const fromStdin = options.input === "-";
    const name = fromStdin ? "stdin" : options.input;
    const format = inputFormatOf(options.input, options.inputFormat);
    const text = fromStdin ? decodeUtf8(await readAll(stdin()), name) : await readTextFile(options.input);
    records = format === "jsonl" ? readJsonl(text, name) : readTextLines(text);
    if (records.length === 0 && !options.allowEmpty) throw new CliError(`No texts in ${name}: it is empty or holds only blank lines`);
  } else if (!stdin().isTTY) {
    const text = decodeUtf8(await readAll(stdin()), "stdin");
    records = inputFormatOf("-", options.inputFormat) === "jsonl" ? readJsonl(text, "stdin") : readTextLines(text);
    if (records.length === 0 && !options.allowEmpty) throw new CliError("No texts on stdin: it was empty or held only blank lines");
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

export type InputFormat = "text" | "jsonl";

/**
 * How an input is read: --input-format when given, else the file's extension (.txt or none: a text
 * a line; .jsonl/.ndjson: a JSON value a line); stdin is text unless told. Any other extension is an
 * error rather than a guess: a .json or .csv read line by line would embed syntax, not texts.
 */
export function inputFormatOf(input: string, given: string | undefined): InputFormat {
  if (given !== undefined) {
    if (given === "text" || given === "jsonl") return given;
    throw new CliError(`Unknown --input-format ${JSON.stringify(given)}: expected text or jsonl`);
  }
  if (input === "-") return "text";
  const ext = extname(input).toLowerCase();
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  if (ext === ".txt" || ext === ".text" || ext === "") return "text";
  throw new CliError(
    `${input}: unknown input extension "${ext}": expected .txt (a text a line) or .jsonl (strings, [a, b] pairs or {"text", "text_pair"} a line); or say which with --input-format text|jsonl`,
  );
}

/** The --input-format option's help, shared by the commands that read texts. */
export const INPUT_FORMAT_HELP = "how to read --input (or stdin): text (a text a line) or jsonl (strings, [a, b] pairs, {\"text\", \"text_pair\"}); default: from the extension, text for stdin";

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

/** Writes non-negative integer n (below 2^53) in decimal at buf[pos]; returns the position after it. */
function writeUint(buf: Buffer, pos: number, n: number): number {
  if (n < 10) {
    buf[pos] = 48 + n;
    return pos + 1;
  }
  if (n < 100) {
    buf[pos] = 48 + ((n / 10) | 0);
    buf[pos + 1] = 48 + (n % 10);
    return pos + 2;
  }
  let digits = 3;
  for (let limit = 1000; n >= limit && digits < 16; limit *= 10) digits++;
  for (let i = pos + digits - 1, v = n; i >= pos; i--) {
    const q = Math.floor(v / 10);
    buf[i] = 48 + (v - q * 10);
    v = q;
  }
  return pos + digits;
}

/**
 * Builds bulk output in 1 MB byte chunks handed to a sink: integers are written digit by digit and
 * strings encoded straight into the chunk, so a line of JSON makes no intermediate strings or
 * objects (bulk JSONL such as tokenize's spends more on writing than on tokenising otherwise).
 */
export class ByteWriter {
  private static readonly CHUNK = 1 << 20;
  private buf: Buffer = Buffer.allocUnsafe(ByteWriter.CHUNK);
  private pos = 0;
  /** Written chunks, ready for reuse. */
  private readonly spare: Buffer[] = [];
  private inFlight = 0;
  private wake: (() => void) | undefined;
  /** Chunks allocated after the first (work counts for tests). */
  allocations = 0;

  constructor(private readonly sink: OutputSink) {}

  /** Room for `bytes` more bytes, handing the filled part of the chunk to the sink first if needed. */
  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    this.flush();
    if (bytes > this.buf.length) this.buf = Buffer.allocUnsafe(bytes);
  }

  /** A string as UTF-8 (at most 3 bytes per UTF-16 unit); ASCII byte by byte (Buffer.write costs more per call). */
  text(s: string): this {
    this.reserve(3 * s.length);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 128) {
        this.pos = pos + buf.write(s.slice(i), pos, "utf8");
        return this;
      }
      buf[pos++] = c;
    }
    this.pos = pos;
    return this;
  }

  /** A non-negative integer (ids, offsets) in decimal. */
  uint(n: number): this {
    this.reserve(16);
    this.pos = writeUint(this.buf, this.pos, n);
    return this;
  }

  /** [a,b,c] of non-negative integers (room reserved once for the whole list). */
  uints(values: ArrayLike<number>): this {
    const n = values.length;
    this.reserve(2 + 17 * n);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 91; // "["
    for (let i = 0; i < n; i++) {
      if (i) buf[pos++] = 44; // ","
      pos = writeUint(buf, pos, values[i]);
    }
    buf[pos++] = 93; // "]"
    this.pos = pos;
    return this;
  }

  /**
   * A string as JSON.stringify writes it: plain ASCII (no quote, backslash or control character)
   * goes straight into the chunk; anything else through JSON.stringify itself.
   */
  jsonString(s: string): this {
    this.reserve(s.length + 2);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 34; // '"'
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 32 || c >= 127 || c === 34 || c === 92) return this.text(JSON.stringify(s));
      buf[pos++] = c;
    }
    buf[pos++] = 34;
    this.pos = pos;
    return this;
  }

  /** ["a","b"] of strings, as JSON.stringify writes them (one reservation for the list while it is plain ASCII). */
  jsonStrings(values: readonly string[]): this {
    const n = values.length;
    let room = 2;
    for (let i = 0; i < n; i++) room += values[i].length + 3;
    this.reserve(room);
    let buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 91;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (i) buf[pos++] = 44;
      const start = pos;
      buf[pos++] = 34;
      let plain = true;
      for (let j = 0; j < v.length; j++) {
        const c = v.charCodeAt(j);
        if (c < 32 || c >= 127 || c === 34 || c === 92) {
          plain = false;
          break;
        }
        buf[pos++] = c;
      }
      if (plain) {
        buf[pos++] = 34;
        continue;
      }
      // Escapes or non-ASCII: JSON.stringify's own text, which may outgrow the room reserved above.
      this.pos = start;
      this.text(JSON.stringify(v));
      let rest = 1;
      for (let k = i + 1; k < n; k++) rest += values[k].length + 3;
      this.reserve(rest);
      buf = this.buf;
      pos = this.pos;
    }
    buf[pos++] = 93;
    this.pos = pos;
    return this;
  }

  /**
   * [a,b,c] of float32 values as JSON.stringify(Array.from(values)) writes them. `native`: a writer
   * of the same bytes straight into the chunk (the addon's jsonNumbersInto: C++ shortest round-trip
   * digits in ECMAScript's layout, ~2x faster than V8's number printing, and no boxed number per
   * value for the garbage collector); it needs 33 bytes of room per value.
   */
  floats(values: Float32Array, native?: NumberWriter): this {
    if (native === undefined) return this.text(JSON.stringify(Array.from(values)));
    this.reserve(2 + 33 * values.length);
    this.buf[this.pos++] = 91; // "["
    this.pos = native(values, this.buf, this.pos);
    this.buf[this.pos++] = 93; // "]"
    return this;
  }

  /** [bytes] : a list's items already written out (e.g. jsonNumberRowsInto's numbers). */
  bracketed(bytes: Uint8Array): this {
    this.reserve(2 + bytes.length);
    this.buf[this.pos++] = 91; // "["
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    this.buf[this.pos++] = 93; // "]"
    return this;
  }

  /** [[s,t],[s,t]] of pairs of non-negative integers (offsets). */
  uintPairs(pairs: readonly (readonly [number, number])[]): this {
    const n = pairs.length;
    this.reserve(2 + 36 * n);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 91;
    for (let i = 0; i < n; i++) {
      const pair = pairs[i];
      if (i) buf[pos++] = 44;
      buf[pos++] = 91;
      pos = writeUint(buf, pos, pair[0]);
      buf[pos++] = 44;
      pos = writeUint(buf, pos, pair[1]);
      buf[pos++] = 93;
    }
    buf[pos++] = 93;
    this.pos = pos;
    return this;
  }

  /** [a,null,b] of non-negative integers or nulls (word ids). */
  uintsOrNulls(values: readonly (number | null)[]): this {
    const n = values.length;
    this.reserve(2 + 17 * n);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 91;
    for (let i = 0; i < n; i++) {
      if (i) buf[pos++] = 44;
      const v = values[i];
      if (v === null) {
        buf[pos++] = 110; // null
        buf[pos++] = 117;
        buf[pos++] = 108;
        buf[pos++] = 108;
      } else pos = writeUint(buf, pos, v);
    }
    buf[pos++] = 93;
    this.pos = pos;
    return this;
  }

  /** Hands the filled part of the chunk to the sink; the chunk comes back for reuse once it is written. */
  flush(): void {
    if (this.pos === 0) return;
    const chunk = this.buf;
    this.inFlight++;
    this.sink.writeBytes(chunk.subarray(0, this.pos), () => {
      this.inFlight--;
      if (chunk.length === ByteWriter.CHUNK) this.spare.push(chunk);
      this.wake?.();
    });
    this.buf = this.spare.pop() ?? this.allocate();
    this.pos = 0;
  }

  /** Chunks handed to the sink and not yet written. */
  get backlog(): number {
    return this.inFlight;
  }

  /**
   * Waits until at most `chunks` chunks are still being written. A writer that calls this between
   * items keeps its memory bounded whatever the output size, and reuses a few chunks instead of
   * allocating (and page-faulting) a fresh megabyte for every one.
   */
  async settle(chunks = 1): Promise<void> {
    while (this.inFlight > chunks) await new Promise<void>((resolveWake) => (this.wake = resolveWake));
    this.wake = undefined;
  }

  private allocate(): Buffer {
    this.allocations++;
    return Buffer.allocUnsafe(ByteWriter.CHUNK);
  }
}

/** Writes values' JSON numbers, comma-separated, into target from offset; returns the end offset (ByteWriter.floats). */
export type NumberWriter = (values: Float32Array, target: Uint8Array, offset: number) => number;

/** --format, defaulting to human-readable text on a terminal and JSONL elsewhere. */
export function resolveFormat(format: string | undefined, output: string | undefined, stdoutIsTTY = Boolean(process.stdout.isTTY)): OutputFormat {
  if (format === undefined && output !== undefined) return outputFormatOf(output, ["text", "jsonl"]);
  if (format === undefined) return stdoutIsTTY ? "text" : "jsonl";
  if (format === "text" || format === "jsonl") return format;
  throw new CliError(`Unknown --format ${JSON.stringify(format)}: expected text or jsonl`);
}

/**
 * The format an --output FILE asks for by its extension (.txt is text; .jsonl/.ndjson jsonl; others
 * by name when the command writes them). Devices (/dev/stdout, /dev/null) get jsonl; any other
 * extension, or none, is an error rather than silent JSONL.
 */
export function outputFormatOf<F extends string>(output: string, known: readonly F[]): F {
  const ext = extname(output).slice(1).toLowerCase();
  const byExt: Record<string, string> = { txt: "text", text: "text", ndjson: "jsonl" };
  const format = (byExt[ext] ?? ext) as F;
  if (known.includes(format)) return format;
  if (output.startsWith("/dev/") && known.includes("jsonl" as F)) return "jsonl" as F;
  const exts = known.map((f) => (f === "text" ? ".txt" : `.${f}`)).join(", ");
  throw new CliError(
    `${output}: ${ext ? `unknown output extension ".${ext}"` : "no file extension"}: expected ${exts}; or say which with --format ${known.join("|")}`,
  );
}

/** Temporary files of outputs being written, removed if the process ends before they are renamed. */
const pendingTemps = new Set<string>();

function removePendingTemps(): void {
  for (const temp of pendingTemps) {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
  pendingTemps.clear();
}

/** SIGINT/SIGTERM while an output is being written: remove its temporary file, then die of the signal as usual. */
function onSignal(signal: NodeJS.Signals): void {
  removePendingTemps();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.kill(process.pid, signal);
}

function trackTemp(temp: string): void {
  if (pendingTemps.size === 0) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("exit", removePendingTemps);
  }
  pendingTemps.add(temp);
}

function untrackTemp(temp: string): void {
  pendingTemps.delete(temp);
  if (pendingTemps.size === 0) {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", removePendingTemps);
  }
}

function describeWriteError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code === "ENOSPC" ? "no space left on device (ENOSPC)" : e.code ? `${e.code}: ${e.message.replace(/^\w+: /, "")}` : String(e.message ?? err);
}

/** Waits until everything written to stdout so far has been handed to the OS; rejects with the write error. */
function flushStdout(): Promise<void> {
  return new Promise((resolveFlush, rejectFlush) => {
    process.stdout.write("", (err) => (err ? rejectFlush(err) : resolveFlush()));
  });
}

/**
 * Where a command writes: stdout or --output FILE. A regular file is written to a temporary file
 * beside it and renamed over it only once every byte is on disk, so a full disk, an error or an
 * interrupt (SIGINT/SIGTERM) leaves an existing output as it was and no temporary file behind.
 * Other targets (/dev/stdout, a FIFO, a device) are written in place. close() commits and reports
 * a write failure as a CliError naming the file; discard() drops what was written.
 */
export class OutputSink {
  private readonly file: WriteStream | null;
  private readonly target: string | undefined;
  private readonly temp: string | undefined;
  private error: Error | null = null;

  constructor(path?: string) {
    this.target = path;
    if (path === undefined) {
      this.file = null;
      return;
    }
    let existing;
    try {
      existing = statSync(path);
    } catch {
      existing = undefined;
    }
    if (existing && !existing.isFile()) {
      this.file = createWriteStream(path);
    } else {
      this.temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
      trackTemp(this.temp);
      this.file = createWriteStream(this.temp, { flags: "wx", mode: existing ? existing.mode & 0o777 : 0o666 });
    }
    // Remember the failure (e.g. a missing folder, a full disk) and report it from close(), not as a crash.
    this.file.on("error", (err) => (this.error ??= err));
  }

  write(text: string | Uint8Array): void {
    if (this.file) {
      if (!this.error) this.file.write(text);
    } else process.stdout.write(text);
  }

  /**
   * Raw UTF-8 bytes. The sink keeps the array until `written` is called (also after a failed write,
   * whose error close() reports): only then may the caller reuse it.
   */
  writeBytes(bytes: Uint8Array, written?: () => void): void {
    const done = written && (() => written());
    if (this.file) this.file.write(bytes, done);
    else process.stdout.write(bytes, done);
  }

  /** One JSON object a line. */
  writeJsonLine(value: unknown): void {
    this.write(JSON.stringify(value) + "\n");
  }

  /** Finishes the output: all bytes written and closed, then renamed over the target. */
  async close(): Promise<void> {
    const file = this.file;
    if (!file) {
      try {
        await flushStdout();
      } catch (err) {
        throw new CliError(`Cannot write to stdout: ${describeWriteError(err)}`);
      }
      return;
    }
    if (!this.error) {
      // 'close' comes after the last write and the close of the descriptor, or after an 'error'.
      await new Promise<void>((resolveClose) => {
        file.once("close", () => resolveClose());
        file.end();
      });
    }
    if (!this.error && this.temp !== undefined) {
      try {
        await rename(this.temp, this.target as string);
      } catch (err) {
        this.error = err as Error;
      }
    }
    if (this.error) {
      await this.discard();
      throw new CliError(`Cannot write ${this.target}: ${describeWriteError(this.error)}${this.temp ? " (the file was left as it was)" : ""}`);
    }
    if (this.temp !== undefined) untrackTemp(this.temp);
  }

  /** Abandons the output: the temporary file is removed and an existing target left untouched. */
  async discard(): Promise<void> {
    const file = this.file;
    if (file && !file.closed) await new Promise<void>((resolveClose) => file.destroy().once("close", () => resolveClose()));
    if (this.temp !== undefined) {
      await rm(this.temp, { force: true });
      untrackTemp(this.temp);
    }
  }
}

/** Runs `produce` with a sink on stdout or `path`; commits the output if it succeeds, discards it if it throws. */
export async function writeOutput(path: string | undefined, produce: (sink: OutputSink) => void | Promise<void>): Promise<void> {
  const sink = new OutputSink(path);
  try {
    await produce(sink);
  } catch (err) {
    await sink.discard();
    throw err;
  }
  await sink.close();
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
    if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} expects a non-negative integer, got ${JSON.stringify(value)}`);
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
