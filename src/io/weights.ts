/**
 * A model folder's weights, whatever format they were saved in. loadWeights picks the file the way
 * Hugging Face `from_pretrained` does for a local folder: model.safetensors, then the sharded
 * model.safetensors.index.json, then pytorch_model.bin, then pytorch_model.bin.index.json.
 */
import { WeightFileError } from "./errors.js";
import { fileKind, join, readWholeFile, resolve } from "./host.js";
import { pathInsideFolder } from "./model-files.js";
import { openSafetensorsFile } from "./safetensors.js";
import { inMemoryTensor, type StoredTensor } from "./stored-tensor.js";
import { readTorchCheckpointFile } from "./torch-checkpoint.js";

export type { WeightDType, WeightTensor } from "./dtype.js";
export type { StoredTensor, ValueStorage } from "./stored-tensor.js";
export { WeightFileError } from "./errors.js";

/**
 * A checkpoint's tensors by name. safetensors files stay open and each tensor is read when asked
 * for (StoredTensor.float32 / copyTo), so loading a model never holds the whole file in memory;
 * pytorch_model.bin files are read whole (pickle needs it). close() releases the open files; it
 * also happens once the store is unreachable.
 */
export class WeightStore {
  /** The weight files read (shards, not the index), absolute paths. */
  readonly files: readonly string[];
  /** Bytes of those files. */
  readonly totalBytes: number;
  private readonly tensors: ReadonlyMap<string, StoredTensor>;
  private readonly closers: readonly (() => void)[];

  constructor(tensors: ReadonlyMap<string, StoredTensor>, files: readonly string[], totalBytes: number, closers: readonly (() => void)[] = []) {
    this.tensors = tensors;
    this.files = files;
    this.totalBytes = totalBytes;
    this.closers = closers;
  }

  /** Closes the open weight files; tensors cannot be read afterwards. */
  close(): void {
    for (const close of this.closers) close();
  }

  get(name: string): StoredTensor | undefined {
    return this.tensors.get(name);
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** Tensor names in file order. */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  get size(): number {
    return this.tensors.size;
  }
}

/** Opens one weight file (reading each byte at most once), reporting the file's size. */
type Reader = (file: string) => Promise<{ tensors: StoredTensor[]; bytes: number; close?: () => void }>;

const readSafetensorsLazily: Reader = async (file) => openSafetensorsFile(file);

const readTorchCheckpoint: Reader = async (file) => {
  const { tensors, bytes } = await readTorchCheckpointFile(file);
  return { tensors: tensors.map(inMemoryTensor), bytes };
};

interface WeightFormat {
  readonly file: string;
  readonly sharded: boolean;
  readonly read: Reader;
}

/** Hugging Face's order of preference. */
const FORMATS: readonly WeightFormat[] = [
  { file: "model.safetensors", sharded: false, read: readSafetensorsLazily },
  { file: "model.safetensors.index.json", sharded: true, read: readSafetensorsLazily },
  { file: "pytorch_model.bin", sharded: false, read: readTorchCheckpoint },
  { file: "pytorch_model.bin.index.json", sharded: true, read: readTorchCheckpoint },
];

async function isFile(path: string): Promise<boolean> {
  return (await fileKind(path)) === "file";
}

export async function loadWeights(dir: string): Promise<WeightStore> {
  const folder = resolve(dir);
  const kind = await fileKind(folder);
  if (kind === null) throw new WeightFileError(folder, "model folder does not exist");
  if (kind !== "folder") throw new WeightFileError(folder, "is not a folder");
  for (const format of FORMATS) {
    const path = join(folder, format.file);
    if (!(await isFile(path))) continue;
    return format.sharded ? loadSharded(folder, path, format.read) : loadSingle(path, format.read);
  }
  throw new WeightFileError(folder, `no weight file found; looked for ${FORMATS.map((f) => f.file).join(", ")}`);
}

/** The weight files loadWeights would read for a folder (the shards of an index), absolute paths. */
export async function findWeightFiles(dir: string): Promise<{ files: string[]; sharded: boolean }> {
  const folder = resolve(dir);
  for (const format of FORMATS) {
    const path = join(folder, format.file);
    if (!(await isFile(path))) continue;
    if (!format.sharded) return { files: [path], sharded: false };
    return { files: [...new Set((await readIndex(folder, path)).values())].map((shard) => join(folder, shard)), sharded: true };
  }
  throw new WeightFileError(folder, `no weight file found; looked for ${FORMATS.map((f) => f.file).join(", ")}`);
}

async function loadSingle(file: string, read: Reader): Promise<WeightStore> {
  const { tensors: list, bytes, close } = await read(file);
  const tensors = new Map<string, StoredTensor>();
  try {
    for (const t of list) addUnique(tensors, t, file);
  } catch (err) {
    close?.();
    throw err;
  }
  return new WeightStore(tensors, [file], bytes, close ? [close] : []);
}

function addUnique(tensors: Map<string, StoredTensor>, t: StoredTensor, file: string): void {
  if (tensors.has(t.name)) throw new WeightFileError(file, "tensor name appears twice", { tensor: t.name });
  tensors.set(t.name, t);
}

/** Reads `weight_map` (tensor → shard file) from a sharded checkpoint's index. */
async function readIndex(folder: string, indexFile: string): Promise<Map<string, string>> {
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(await readWholeFile(indexFile));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new WeightFileError(indexFile, `index is not valid JSON: ${(err as Error).message}`);
  }
  const weightMap = typeof json === "object" && json !== null ? (json as Record<string, unknown>).weight_map : undefined;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new WeightFileError(indexFile, "index has no weight_map object");
  }
  const map = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== "string" || shard === "") {
      throw new WeightFileError(indexFile, "weight_map value is not a file name", { tensor });
    }
    // Shards must sit inside the model folder: an index must not point us at arbitrary files.
    try {
      if (pathInsideFolder(folder, shard, indexFile, "weight_map") === resolve(folder)) throw new Error("the folder itself");
    } catch {
      throw new WeightFileError(indexFile, `weight_map names shard "${shard}", which is outside the model folder`, { tensor });
    }
    map.set(tensor, shard);
  }
  if (map.size === 0) throw new WeightFileError(indexFile, "weight_map is empty");
  return map;
}

async function loadSharded(folder: string, indexFile: string, read: Reader): Promise<WeightStore> {
  const weightMap = await readIndex(folder, indexFile);
  const shardNames = [...new Set(weightMap.values())];
  for (const shard of shardNames) {
    if (!(await isFile(join(folder, shard)))) {
      const tensor = [...weightMap].find(([, s]) => s === shard)?.[0];
      throw new WeightFileError(indexFile, `weight_map names shard "${shard}", which does not exist`, { tensor });
    }
  }
  // Each shard is opened once; the reads overlap.
  const opened = await Promise.allSettled(shardNames.map((s) => read(join(folder, s))));
  const closers = opened.flatMap((o) => (o.status === "fulfilled" && o.value.close ? [o.value.close] : []));
  try {
    return collectShards(folder, shardNames, weightMap, opened.map((o) => {
      if (o.status === "rejected") throw o.reason;
      return o.value;
    }), closers);
  } catch (err) {
    for (const close of closers) close();
    throw err;
  }
}

function collectShards(
  folder: string,
  shardNames: string[],
  weightMap: Map<string, string>,
  shards: { tensors: StoredTensor[]; bytes: number }[],
  closers: (() => void)[],
): WeightStore {
  const tensors = new Map<string, StoredTensor>();
  const shardOf = new Map<string, string>();
  let totalBytes = 0;
  shardNames.forEach((shard, i) => {
    const file = join(folder, shard);
    totalBytes += shards[i].bytes;
    for (const t of shards[i].tensors) {
      if (tensors.has(t.name)) {
        throw new WeightFileError(file, `tensor also stored in shard "${shardOf.get(t.name)}"`, { tensor: t.name });
      }
      tensors.set(t.name, t);
      shardOf.set(t.name, shard);
    }
  });
  for (const [tensor, shard] of weightMap) {
    if (shardOf.get(tensor) !== shard) {
      throw new WeightFileError(join(folder, shard), `index maps this tensor to shard "${shard}" but it is not there`, { tensor });
    }
  }
  return new WeightStore(tensors, shardNames.map((s) => join(folder, s)), totalBytes, closers);
}
