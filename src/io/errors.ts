/**
 * Errors raised while reading weight files, and the one place those files are read from disk.
 * Every failure — missing file, truncated data, a lying header, a forbidden pickle global — becomes
 * a WeightFileError that names the file and, when known, the tensor.
 */
import { constants as bufferConstants } from "node:buffer";
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";

export class WeightFileError extends Error {
  /** The weight file (or folder) that could not be loaded. */
  readonly file: string;
  /** The tensor being read when the problem was found, when there was one. */
  readonly tensor?: string;

  constructor(file: string, detail: string, options: { tensor?: string; cause?: unknown } = {}) {
    const where = options.tensor === undefined ? file : `${file}, tensor "${options.tensor}"`;
    super(`${where}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WeightFileError";
    this.file = file;
    if (options.tensor !== undefined) this.tensor = options.tensor;
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
