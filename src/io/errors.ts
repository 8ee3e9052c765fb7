/**
 * Errors raised while reading model files. Every failure — missing file, truncated data, a lying
 * header, a forbidden pickle global — becomes a WeightFileError (weights) or a ModelFileError (config
 * and tokenizer files) that names the file and, when known, the tensor or field. Reading itself
 * happens in host.ts (Node) or host.browser.ts (the browser bundle).
 */
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

export class ModelFileError extends Error {
  constructor(
    readonly file: string,
    detail: string,
    readonly field?: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "ModelFileError";
  }
}
