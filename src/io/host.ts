/**
 * Every file access of model loading, for Node: paths are file-system paths, read with node:fs.
 * The browser bundle replaces this module with host.browser.ts (same exports), where paths name
 * files of models fetched from a URL or given as File/ArrayBuffer objects. Nothing else on the
 * model-loading path imports a node: module, so swapping this file is all the browser needs.
 */
import { constants as bufferConstants } from "node:buffer";
import { closeSync, constants, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { open, readFile, stat, type FileHandle } from "node:fs/promises";
import { ModelFileError, WeightFileError } from "./errors.js";

export { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

/** What a path names: null when nothing is there. */
export type FileKind = "file" | "folder" | "other";

export async function fileKind(path: string): Promise<FileKind | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? "file" : s.isDirectory() ? "folder" : "other";
  } catch {
    return null;
  }
}

/**
 * The folder a tokenizer or model is read from, given where the caller says it is: on Node the path
 * itself; in the browser a base URL is first downloaded (and mounted) here.
 */
export async function openModelFolder(location: string, _needs: "tokenizer" | "model" = "tokenizer"): Promise<string> {
  return location;
}

/** Lets queued I/O and timers run between batches of a long computation. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Whether anything (file or folder) is at `path`. */
export function fileExists(path: string): boolean {
  return existsSync(path);
}

/** A whole file as UTF-8 text; errors keep their errno `code` (ENOENT when missing). */
export async function readTextFile(path: string): Promise<string> {
  return readFile(path, "utf8");
}

/** A whole file's bytes; errors keep their errno `code` (ENOENT when missing). */
export async function readBinaryFile(path: string): Promise<Uint8Array> {
  return readFile(path);
}

/** A warning for the user that does not stop the work (Node: process warning, shown once per code by the CLI). */
export function emitWarning(message: string, options: { type: string; code: string }): void {
  process.emitWarning(message, options);
}

function kindOf(stats: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (stats.isDirectory()) return "a folder";
  if (stats.isFIFO()) return "a FIFO (named pipe)";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  return "not a regular file";
}

/**
 * Opens `file` for reading only if it is a regular file. O_NONBLOCK makes opening a FIFO return at
 * once (a blocking open waits for a writer forever); fstat then refuses it. Null when it does not exist.
 */
async function openRegularFile(file: string): Promise<{ handle: FileHandle; size: number } | null> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    throw new ModelFileError(file, `cannot open: ${code ?? (err as Error).message}`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new ModelFileError(file, `is ${kindOf(stats)}; expected a regular file`);
    return { handle, size: stats.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** The bytes of a regular file of at most `maxBytes`; null when it does not exist. */
export async function readRegularFile(file: string, maxBytes: number): Promise<Uint8Array | null> {
  const opened = await openRegularFile(file);
  if (!opened) return null;
  const { handle, size } = opened;
  try {
    if (size > maxBytes) throw new ModelFileError(file, `is ${size} bytes; expected at most ${maxBytes} for this kind of file`);
    const buf = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(buf, done, size - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === size ? buf : buf.subarray(0, done);
  } catch (err) {
    if (err instanceof ModelFileError) throw err;
    throw new ModelFileError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    await handle.close();
  }
}

/** Non-blocking open, so a FIFO returns at once (and is then refused) instead of waiting for a writer. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
const NOT_REGULAR = "is not a regular file (a FIFO, device or folder); expected a weight file";

/** Largest single read; fh.read() takes at most 2 GiB - 1 per call. */
const READ_CHUNK = 1 << 30;

/** An open weight file whose bytes are read by range, each range once; read failures become WeightFileErrors. */
export interface WeightFileHandle {
  readonly file: string;
  readonly size: number;
  /** Fills `target` with the bytes at [position, position + target.length). */
  readInto(target: Uint8Array, position: number): Promise<void>;
}

/** Opens `file`, runs `use` with it, and always closes it. */
export async function withWeightFile<T>(file: string, use: (handle: WeightFileHandle) => Promise<T>): Promise<T> {
  let fh;
  try {
    fh = await open(file, OPEN_FLAGS);
  } catch (err) {
    throw new WeightFileError(file, `cannot open: ${(err as Error).message}`, { cause: err });
  }
  const opened = fh;
  try {
    const stats = await opened.stat();
    if (!stats.isFile()) throw new WeightFileError(file, NOT_REGULAR);
    const { size } = stats;
    const handle: WeightFileHandle = {
      file,
      size,
      async readInto(target, position) {
        let done = 0;
        while (done < target.length) {
          const want = Math.min(READ_CHUNK, target.length - done);
          const { bytesRead } = await opened.read(target, done, want, position + done);
          if (bytesRead === 0) {
            throw new WeightFileError(file, `file ended at byte ${position + done} while reading up to ${position + target.length} (changed while reading?)`);
          }
          done += bytesRead;
        }
      },
    };
    return await use(handle);
  } catch (err) {
    if (err instanceof WeightFileError) throw err;
    throw new WeightFileError(file, `cannot read: ${(err as Error).message}`, { cause: err });
  } finally {
    await opened.close();
  }
}

/** Closes the descriptors of OpenWeightFiles nobody references any more. */
const unreachableFiles = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
});

/**
 * A weight file kept open so tensors can be read when the model asks for them, one at a time, with
 * synchronous positional reads: nothing but the header stays in memory. Read failures become
 * WeightFileErrors. The descriptor is closed by close(), or when the object becomes unreachable.
 */
export class OpenWeightFile {
  readonly size: number;
  private fd: number | undefined;

  private constructor(readonly file: string, fd: number, size: number) {
    this.fd = fd;
    this.size = size;
    unreachableFiles.register(this, fd, this);
  }

  static open(file: string): OpenWeightFile {
    let fd: number;
    try {
      fd = openSync(file, OPEN_FLAGS);
    } catch (err) {
      throw new WeightFileError(file, `cannot open: ${(err as Error).message}`, { cause: err });
    }
    let stats;
    try {
      stats = fstatSync(fd);
    } catch (err) {
      closeSync(fd);
      throw new WeightFileError(file, `cannot read: ${(err as Error).message}`, { cause: err });
    }
    if (!stats.isFile()) {
      closeSync(fd);
      throw new WeightFileError(file, NOT_REGULAR);
    }
    return new OpenWeightFile(file, fd, stats.size);
  }

  /** Fills `target` with the bytes at [position, position + target.length). */
  readInto(target: Uint8Array, position: number, tensor?: string): void {
    if (this.fd === undefined) throw new WeightFileError(this.file, "read after the file was closed", { tensor });
    let done = 0;
    while (done < target.length) {
      const want = Math.min(READ_CHUNK, target.length - done);
      let bytesRead: number;
      try {
        bytesRead = readSync(this.fd, target, done, want, position + done);
      } catch (err) {
        throw new WeightFileError(this.file, `cannot read: ${(err as Error).message}`, { tensor, cause: err });
      }
      if (bytesRead === 0) {
        throw new WeightFileError(
          this.file,
          `file ended at byte ${position + done} while reading up to ${position + target.length} (changed since it was opened?)`,
          { tensor },
        );
      }
      done += bytesRead;
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    unreachableFiles.unregister(this);
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/** A Buffer of `size` bytes that owns its ArrayBuffer from byte 0 (never a pooled slice), so typed-array alignment is predictable. */
export function allocateFor(file: string, size: number): Buffer {
  if (size > bufferConstants.MAX_LENGTH) {
    throw new WeightFileError(file, `needs a ${size}-byte buffer, more than this Node can hold in one Buffer`);
  }
  return Buffer.allocUnsafeSlow(size);
}

/** Reads a whole file into a fresh Buffer with one open and as few reads as its size needs. */
export async function readWholeFile(file: string): Promise<Buffer> {
  return withWeightFile(file, async (handle) => {
    const buf = allocateFor(file, handle.size);
    await handle.readInto(buf, 0);
    return buf;
  });
}
