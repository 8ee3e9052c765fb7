/**
 * What a model can be loaded from besides a path or a Hugging Face id. On Node a model is a folder
 * path or an id; the browser bundle also takes a base URL (`…/resolve/main`, or any static folder)
 * and a model's files as objects: File/Blob (drag and drop, a folder input's FileList, whose
 * `webkitRelativePath` keeps the folder layout) or bytes keyed by their path inside the folder.
 * Types only: both platforms share them, the browser's src/browser/model-source.ts reads them.
 */

/** A File (or Blob with a name) as a folder input or drag and drop gives it. */
export interface NamedBlob extends Blob {
  readonly name: string;
  readonly webkitRelativePath?: string;
}

/** Bytes or a Blob per path inside the model folder ("config.json", "1_Pooling/config.json"). */
export type ModelFileMap =
  | ReadonlyMap<string, Blob | ArrayBuffer | ArrayBufferView>
  | Readonly<Record<string, Blob | ArrayBuffer | ArrayBufferView>>;

/** A model's files as objects: a FileList / File[] (paths from webkitRelativePath or name), or a map by path. */
export type ModelFileObjects = ArrayLike<NamedBlob> | ModelFileMap;

/** A folder path or Hugging Face id (Node), a base URL (browser), or the model's files as objects (browser). */
export type ModelLocation = string | ModelFileObjects;

/** One file's download progress (browser); `cached` when it came from the Cache API. */
export interface DownloadProgress {
  file: string;
  url: string;
  loaded: number;
  /** From Content-Length; undefined when the server does not say. */
  total: number | undefined;
  done: boolean;
  cached: boolean;
}

/** The text a string location is, or a refusal naming what was given (Node takes paths and ids only). */
export function locationAsString(location: ModelLocation): string {
  if (typeof location === "string") return location;
  throw new TypeError(
    `Expected a model folder path or Hugging Face id (a string) but received ${Object.prototype.toString.call(location)}; ` +
      "File, Blob and ArrayBuffer sources work in the browser bundle (bert-ts/browser)",
  );
}
