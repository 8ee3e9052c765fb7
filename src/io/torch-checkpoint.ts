/**
 * pytorch_model.bin as `torch.save` writes it since torch 1.6: a zip holding `<top>/data.pkl`
 * (the state dict, pickled), `<top>/data/<key>` (one raw little-endian storage per key) and
 * `<top>/version`. The pickle is read by a restricted unpickler that knows only the globals a
 * state dict needs; anything else (os.system, builtins.eval, ...) is refused before it is even
 * looked up — nothing is ever executed or constructed generically.
 */
import { assertLittleEndianHost, DTYPE_BYTES, toFloat32 } from "./dtype.js";
import type { WeightDType, WeightTensor } from "./dtype.js";
import { WeightFileError } from "./errors.js";
import { readWholeFile } from "./host.js";
import { DEFAULT_PICKLE_LIMITS, describe, HostObject, PickleError, PyDict, PyGlobal, PyTuple, unpickle } from "./pickle.js";
import type { PyValue, UnpickleHooks } from "./pickle.js";
import { crc32, ZipArchive } from "./zip.js";
import type { ZipEntry } from "./zip.js";
import { ownEntry } from "./model-files.js";

/** torch storage classes → the element type their bytes hold. */
const STORAGE_TYPES: Readonly<Record<string, WeightDType>> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  DoubleStorage: "F64",
  LongStorage: "I64",
  IntStorage: "I32",
};

const ORDERED_DICT = "collections.OrderedDict";
const REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
const REBUILD_PARAMETER = "torch._utils._rebuild_parameter";

const ALLOWED_GLOBALS = new Set([ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER, ...Object.keys(STORAGE_TYPES).map((s) => `torch.${s}`)]);

/** ('storage', storage_type, key, location, numel) from a persistent id. */
class StorageRef extends HostObject {
  constructor(
    readonly dtype: WeightDType,
    readonly key: string,
    readonly numel: number,
  ) {
    super();
  }
}

/** What _rebuild_tensor_v2 describes: a strided view of a storage. */
class TensorRef extends HostObject {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {
    super();
  }
}

function isCount(v: PyValue): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function counts(v: PyValue, what: string, fail: (detail: string) => never): number[] {
  if (!(v instanceof PyTuple) || !v.items.every(isCount)) return fail(`${what} must be a tuple of non-negative integers, got ${describe(v)}`);
  return v.items as number[];
}

function makeHooks(file: string): UnpickleHooks {
  const fail = (detail: string): never => {
    throw new WeightFileError(file, detail);
  };
  return {
    findClass(module, name) {
      const qualified = `${module}.${name}`;
      if (!ALLOWED_GLOBALS.has(qualified)) {
        fail(`refusing to load: data.pkl uses global ${qualified}, which is not allowed (a state dict needs only ${[...ALLOWED_GLOBALS].join(", ")})`);
      }
      return new PyGlobal(module, name);
    },
    reduce(callable, args) {
      const name = callable instanceof PyGlobal ? callable.qualifiedName : describe(callable);
      switch (name) {
        case ORDERED_DICT:
          if (args.length !== 0) fail(`${ORDERED_DICT} called with ${args.length} arguments; only OrderedDict() is supported`);
          return new PyDict();
        case REBUILD_TENSOR: {
          // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
          if (args.length < 4) fail(`${REBUILD_TENSOR} called with ${args.length} arguments`);
          const [storage, offset] = args;
          if (!(storage instanceof StorageRef)) return fail(`${REBUILD_TENSOR} got ${describe(storage)} instead of a storage`);
          if (!isCount(offset)) return fail(`${REBUILD_TENSOR} got storage offset ${describe(offset)}`);
          const shape = counts(args[2], "tensor size", fail);
          const stride = counts(args[3], "tensor stride", fail);
          if (shape.length !== stride.length) fail(`tensor size has ${shape.length} dims but stride has ${stride.length}`);
          return new TensorRef(storage, offset, shape, stride);
        }
        case REBUILD_PARAMETER: {
          // (data, requires_grad, backward_hooks): a Parameter is its data for us
          const data = args[0];
          if (!(data instanceof TensorRef)) return fail(`${REBUILD_PARAMETER} got ${describe(data as PyValue)} instead of a tensor`);
          return data;
        }
        default:
          return fail(`refusing to load: data.pkl calls ${name}, which is not allowed`);
      }
    },
    persistentLoad(pid) {
      if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== "storage") {
        return fail(`unsupported persistent id ${describe(pid)}; expected ('storage', type, key, location, numel)`);
      }
      const [, type, key, , numel] = pid.items;
      const dtype = type instanceof PyGlobal && type.module === "torch" ? ownEntry(STORAGE_TYPES, type.name) : undefined;
      if (dtype === undefined) return fail(`unsupported storage type ${describe(type)}`);
      if (typeof key !== "string") return fail(`storage key is ${describe(key)}, not a string`);
      if (!isCount(numel)) return fail(`storage "${key}" has element count ${describe(numel)}`);
      return new StorageRef(dtype, key, numel);
    },
  };
}

/** Legacy torch.save (before 1.6) starts with a pickled magic number, not a zip header. */
function describeNonZip(buf: Uint8Array): string {
  if (buf.length >= 2 && buf[0] === 0x80 && buf[1] <= 5) {
    return "is a plain pickle (the legacy torch.save format before torch 1.6), which is not supported; re-save it with a recent torch or convert it to safetensors";
  }
  return "is not a zip archive, so not a torch.save checkpoint";
}

/** The `<top>/` folder holding data.pkl; torch names it after the file, so it varies. */
function findPrefix(zip: ZipArchive): string {
  const pickles = zip.names().filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length === 0) {
    throw new WeightFileError(zip.file, "archive has no <folder>/data.pkl, so it is not a torch.save checkpoint");
  }
  if (pickles.length > 1) throw new WeightFileError(zip.file, `archive has several data.pkl files: ${pickles.join(", ")}`);
  return pickles[0].slice(0, -"data.pkl".length);
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** Copies a strided view into a fresh row-major array. */
function gather(src: Float32Array, offset: number, shape: readonly number[], stride: readonly number[], numel: number): Float32Array {
  const out = new Float32Array(numel);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let at = offset;
  for (let i = 0; i < numel; i++) {
    out[i] = src[at];
    // odometer increment over the dims, last dim fastest
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      at += stride[d];
      if (index[d] < shape[d]) break;
      at -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

export function parseTorchCheckpoint(buf: Uint8Array, file: string): WeightTensor[] {
  assertLittleEndianHost(file);
  const isZip = buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04;
  if (!isZip) {
    // an empty or cut-off zip still ends in a directory record; only say "not a zip" for other data
    if (buf.length < 4) throw new WeightFileError(file, `file is ${buf.length} bytes, too short for a zip archive (truncated?)`);
    throw new WeightFileError(file, describeNonZip(buf));
  }
  const zip = new ZipArchive(buf, file);
  const prefix = findPrefix(zip);

  const byteorder = zip.entry(`${prefix}byteorder`);
  if (byteorder) {
    const order = new TextDecoder().decode(zip.read(byteorder)).trim();
    if (order !== "little") throw new WeightFileError(file, `storages are ${order}-endian; only little-endian checkpoints are supported`);
  }

  const pklEntry = zip.entry(`${prefix}data.pkl`) as ZipEntry;
  if (pklEntry.size > DEFAULT_PICKLE_LIMITS.maxBytes) {
    throw new WeightFileError(file, `${pklEntry.name} is ${pklEntry.size} bytes, more than the ${DEFAULT_PICKLE_LIMITS.maxBytes} a state dict needs (refused)`);
  }
  const pkl = zip.read(pklEntry);
  if (crc32(pkl) !== pklEntry.crc32) throw new WeightFileError(file, `${pklEntry.name} fails its CRC-32 check (corrupted)`);
  let root: PyValue;
  try {
    root = unpickle(pkl, makeHooks(file));
  } catch (err) {
    if (err instanceof PickleError) throw new WeightFileError(file, `${pklEntry.name}: ${err.message}`, { cause: err });
    throw err;
  }
  if (!(root instanceof PyDict)) throw new WeightFileError(file, `data.pkl holds ${describe(root)}, not a state dict`);

  // Each storage is converted once; tensors sharing it (tied weights) get views of the same array.
  const storages = new Map<string, Float32Array>();
  const storageData = (ref: StorageRef, tensor: string): Float32Array => {
    const cached = storages.get(ref.key);
    if (cached) return cached;
    const entry = zip.entry(`${prefix}data/${ref.key}`);
    if (!entry) throw new WeightFileError(file, `storage "${ref.key}" is not in the archive`, { tensor });
    const bytes = zip.read(entry);
    const want = ref.numel * DTYPE_BYTES[ref.dtype];
    if (bytes.length < want) {
      throw new WeightFileError(file, `storage "${ref.key}" holds ${bytes.length} bytes, less than its ${ref.numel} × ${ref.dtype} = ${want}`, { tensor });
    }
    const data = toFloat32(bytes, 0, ref.numel, ref.dtype);
    storages.set(ref.key, data);
    return data;
  };

  const tensors: WeightTensor[] = [];
  for (const [name, value] of root.map) {
    if (typeof name !== "string") throw new WeightFileError(file, `state dict key ${describe(name)} is not a string`);
    if (!(value instanceof TensorRef)) {
      throw new WeightFileError(file, `state dict entry is ${describe(value)}, not a tensor (a nested checkpoint rather than a state dict?)`, { tensor: name });
    }
    const { storage, offset, shape, stride } = value;
    const numel = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (numel === 0) {
      data = new Float32Array(0);
    } else if (numel > storage.numel) {
      // only a broadcast (stride 0) view could be larger than its storage; refusing it also bounds the allocation
      throw new WeightFileError(file, `size [${shape.join(", ")}] has ${numel} elements, more than storage "${storage.key}" holds (${storage.numel})`, {
        tensor: name,
      });
    } else {
      // the last element the view touches must lie inside the storage
      const last = offset + shape.reduce((sum, n, d) => sum + (n - 1) * stride[d], 0);
      if (!Number.isSafeInteger(last) || last >= storage.numel) {
        throw new WeightFileError(
          file,
          `size [${shape.join(", ")}], stride [${stride.join(", ")}] at offset ${offset} reach element ${last}, but storage "${storage.key}" has ${storage.numel}`,
          { tensor: name },
        );
      }
      const src = storageData(storage, name);
      data = isContiguous(shape, stride) ? src.subarray(offset, offset + numel) : gather(src, offset, shape, stride, numel);
    }
    tensors.push({ name, dtype: storage.dtype, shape: [...shape], data });
  }
  return tensors;
}

export async function readTorchCheckpointFile(file: string): Promise<{ tensors: WeightTensor[]; bytes: number }> {
  const buf = await readWholeFile(file);
  return { tensors: parseTorchCheckpoint(buf, file), bytes: buf.length };
}

export async function readTorchCheckpoint(file: string): Promise<WeightTensor[]> {
  return (await readTorchCheckpointFile(file)).tensors;
}
