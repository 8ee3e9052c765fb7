/**
 * Hand-made torch.save checkpoints for the tests: a pickle opcode writer, the state-dict pickle
 * torch emits (protocol 2), and a zip writer (stored or deflated entries, optional ZIP64 records,
 * 64-byte aligned data like torch's writer).
 */
import { deflateRawSync } from "node:zlib";
import { crc32 } from "../../src/io/zip.js";

/** Pickle bytes built opcode by opcode. */
export class PickleWriter {
  private readonly parts: Buffer[] = [];

  private op(code: number, payload: Buffer = Buffer.alloc(0)): this {
    this.parts.push(Buffer.from([code]), payload);
    return this;
  }
  raw(bytes: Buffer | string): this {
    this.parts.push(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
    return this;
  }
  proto(n = 2): this {
    return this.op(0x80, Buffer.from([n]));
  }
  mark(): this {
    return this.op(0x28);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  tuple(): this {
    return this.op(0x74);
  }
  tuple1(): this {
    return this.op(0x85);
  }
  tuple2(): this {
    return this.op(0x86);
  }
  tuple3(): this {
    return this.op(0x87);
  }
  setitems(): this {
    return this.op(0x75);
  }
  reduce(): this {
    return this.op(0x52);
  }
  build(): this {
    return this.op(0x62);
  }
  binpersid(): this {
    return this.op(0x51);
  }
  newFalse(): this {
    return this.op(0x89);
  }
  stop(): this {
    return this.op(0x2e);
  }
  put(i: number): this {
    return this.op(0x71, Buffer.from([i]));
  }
  get(i: number): this {
    return this.op(0x68, Buffer.from([i]));
  }
  global(module: string, name: string): this {
    return this.op(0x63, Buffer.from(`${module}\n${name}\n`, "latin1"));
  }
  stackGlobal(module: string, name: string): this {
    return this.str(module).str(name).op(0x93);
  }
  str(s: string): this {
    const b = Buffer.from(s, "utf8");
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.op(0x58, Buffer.concat([len, b]));
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, Buffer.from([n]));
    if (n >= 0 && n < 65536) {
      const b = Buffer.alloc(2);
      b.writeUInt16LE(n);
      return this.op(0x4d, b);
    }
    if (n >= -(2 ** 31) && n < 2 ** 31) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(n);
      return this.op(0x4a, b);
    }
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    return this.op(0x8a, Buffer.concat([Buffer.from([8]), b])); // LONG1
  }
  ints(values: number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export interface FakeTensor {
  name: string;
  storageType?: string; // default FloatStorage
  key: string;
  numel: number; // elements of the storage
  offset?: number;
  shape: number[];
  stride?: number[]; // default row-major
  parameter?: boolean; // wrap in torch._utils._rebuild_parameter
}

function rowMajor(shape: number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    stride[d] = s;
    s *= shape[d];
  }
  return stride;
}

/** The pickle torch.save writes for a state dict; `ordered` makes the root an OrderedDict with `_metadata` BUILD state. */
export function stateDictPickle(tensors: FakeTensor[], opts: { ordered?: boolean } = {}): Buffer {
  const p = new PickleWriter().proto(2);
  if (opts.ordered) p.global("collections", "OrderedDict").emptyTuple().reduce();
  else p.emptyDict();
  p.mark();
  for (const t of tensors) {
    p.str(t.name);
    if (t.parameter) p.global("torch._utils", "_rebuild_parameter");
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.mark();
    p.mark().str("storage").global("torch", t.storageType ?? "FloatStorage").str(t.key).str("cpu").int(t.numel).tuple().binpersid();
    p.int(t.offset ?? 0).ints(t.shape).ints(t.stride ?? rowMajor(t.shape)).newFalse();
    p.global("collections", "OrderedDict").emptyTuple().reduce();
    p.tuple().reduce();
    // _rebuild_parameter(tensor, requires_grad, backward_hooks)
    if (t.parameter) p.newFalse().global("collections", "OrderedDict").emptyTuple().reduce().tuple3().reduce();
  }
  p.setitems();
  if (opts.ordered) {
    // state = {"_metadata": OrderedDict({"": {"version": 1}})}
    p.emptyDict().str("_metadata").global("collections", "OrderedDict").emptyTuple().reduce();
    p.str("").emptyDict().str("version").int(1).raw(Buffer.from([0x73])).raw(Buffer.from([0x73])); // SETITEM twice
    p.raw(Buffer.from([0x73])).build();
  }
  return p.stop().bytes();
}

export interface ZipInput {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
}

/** A zip archive; zip64 writes ZIP64 sizes/offsets (0xFFFFFFFF in the 32-bit fields) and end records. */
export function buildZip(entries: ZipInput[], opts: { zip64?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, "utf8");
    const payload = e.deflate ? deflateRawSync(e.data) : Buffer.from(e.data);
    const crc = crc32(e.data);
    // pad the local extra field so data starts on a 64-byte boundary, as torch does
    const headerEnd = offset + 30 + name.length;
    const padLen = (64 - ((headerEnd + 4) % 64)) % 64;
    const extra = Buffer.alloc(4 + padLen);
    extra.writeUInt16LE(0x1234, 0); // private padding id
    extra.writeUInt16LE(padLen, 2);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(opts.zip64 ? 45 : 20, 4);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(opts.zip64 ? 0xffffffff : payload.length, 18);
    local.writeUInt32LE(opts.zip64 ? 0xffffffff : e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    parts.push(local, name, extra, payload);

    const z64 = Buffer.alloc(4 + 24);
    z64.writeUInt16LE(0x0001, 0);
    z64.writeUInt16LE(24, 2);
    z64.writeBigUInt64LE(BigInt(e.data.length), 4);
    z64.writeBigUInt64LE(BigInt(payload.length), 12);
    z64.writeBigUInt64LE(BigInt(offset), 20);
    const cextra = opts.zip64 ? z64 : Buffer.alloc(0);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(opts.zip64 ? 45 : 20, 4);
    c.writeUInt16LE(opts.zip64 ? 45 : 20, 6);
    c.writeUInt16LE(e.deflate ? 8 : 0, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(opts.zip64 ? 0xffffffff : payload.length, 20);
    c.writeUInt32LE(opts.zip64 ? 0xffffffff : e.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(cextra.length, 30);
    c.writeUInt32LE(opts.zip64 ? 0xffffffff : offset, 42);
    central.push(c, name, cextra);
    offset += 30 + name.length + extra.length + payload.length;
  }
  const cd = Buffer.concat(central);
  const tail: Buffer[] = [];
  if (opts.zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(entries.length), 24);
    rec.writeBigUInt64LE(BigInt(entries.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(offset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(opts.zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(opts.zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(opts.zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(opts.zip64 ? 0xffffffff : offset, 16);
  return Buffer.concat([...parts, cd, ...tail, eocd]);
}

/** A torch.save-style archive: <top>/data.pkl, <top>/data/<key>, <top>/version. */
export function torchZip(pickle: Buffer, storages: Record<string, Uint8Array>, opts: { top?: string; zip64?: boolean; deflate?: boolean; extra?: ZipInput[] } = {}): Buffer {
  const top = opts.top ?? "archive";
  const entries: ZipInput[] = [{ name: `${top}/data.pkl`, data: pickle, deflate: opts.deflate }];
  for (const [key, data] of Object.entries(storages)) entries.push({ name: `${top}/data/${key}`, data, deflate: opts.deflate });
  entries.push({ name: `${top}/version`, data: Buffer.from("3\n") }, ...(opts.extra ?? []));
  return buildZip(entries, { zip64: opts.zip64 });
}
