/**
 * Just enough of the zip format (PKWARE APPNOTE 6.3) to read what `torch.save` writes: the
 * central directory (with ZIP64 sizes and offsets) and STORED entries, returned as zero-copy views.
 * torch writes every entry stored; compressed entries are refused rather than inflated, so a small
 * file can never make us allocate a huge one (a deflate bomb). Every offset and size is checked
 * against the buffer before use.
 */
import { WeightFileError } from "./errors.js";

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored; anything else is compressed and refused by read(). */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;

export class ZipArchive {
  private readonly entriesByName = new Map<string, ZipEntry>();
  /** Where the central directory starts: entry data must end before it. */
  private readonly dataEnd: number;

  constructor(
    private readonly buf: Uint8Array,
    readonly file: string,
  ) {
    this.dataEnd = this.readCentralDirectory();
  }

  names(): string[] {
    return [...this.entriesByName.keys()];
  }

  entry(name: string): ZipEntry | undefined {
    return this.entriesByName.get(name);
  }

  private fail(detail: string): never {
    throw new WeightFileError(this.file, `corrupt or truncated zip archive: ${detail}`);
  }

  private view(): DataView {
    return new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  private u64(v: DataView, at: number, what: string): number {
    const n = v.getBigUint64(at, true);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} ${n} is out of range`);
    return Number(n);
  }

  /** Finds the end-of-central-directory record (searching back over a possible comment) and reads every entry. */
  private readCentralDirectory(): number {
    const buf = this.buf;
    const v = this.view();
    let eocd = -1;
    for (let at = buf.length - EOCD_SIZE; at >= Math.max(0, buf.length - EOCD_SIZE - MAX_COMMENT); at--) {
      if (v.getUint32(at, true) === SIG_EOCD && at + EOCD_SIZE + v.getUint16(at + 20, true) <= buf.length) {
        eocd = at;
        break;
      }
    }
    if (eocd < 0) this.fail("no end-of-central-directory record (file truncated, or not a zip)");

    let diskNumber = v.getUint16(eocd + 4, true);
    let cdDisk = v.getUint16(eocd + 6, true);
    let count = v.getUint16(eocd + 10, true);
    let cdSize = v.getUint32(eocd + 12, true);
    let cdOffset = v.getUint32(eocd + 16, true);
    let cdLimit = eocd;

    const locator = eocd - 20;
    if (locator >= 0 && v.getUint32(locator, true) === SIG_ZIP64_LOCATOR) {
      const z64 = this.u64(v, locator + 8, "ZIP64 end record offset");
      if (z64 + 56 > locator || v.getUint32(z64, true) !== SIG_ZIP64_EOCD) this.fail("bad ZIP64 end-of-central-directory record");
      diskNumber = v.getUint32(z64 + 16, true);
      cdDisk = v.getUint32(z64 + 20, true);
      count = this.u64(v, z64 + 32, "entry count");
      cdSize = this.u64(v, z64 + 40, "central directory size");
      cdOffset = this.u64(v, z64 + 48, "central directory offset");
      cdLimit = z64;
    }
    if (diskNumber !== 0 || cdDisk !== 0) this.fail("multi-volume archives are not supported");
    if (cdOffset + cdSize > cdLimit) this.fail(`central directory [${cdOffset}, ${cdOffset + cdSize}) runs past its end record at ${cdLimit}`);
    if (count > cdSize / CENTRAL_SIZE) this.fail(`${count} entries cannot fit in a ${cdSize}-byte central directory`);

    const decoder = new TextDecoder("utf-8");
    let at = cdOffset;
    const cdEnd = cdOffset + cdSize;
    for (let i = 0; i < count; i++) {
      if (at + CENTRAL_SIZE > cdEnd || v.getUint32(at, true) !== SIG_CENTRAL) this.fail(`central directory entry ${i} is missing or damaged`);
      const flags = v.getUint16(at + 8, true);
      const method = v.getUint16(at + 10, true);
      const crc32 = v.getUint32(at + 16, true);
      let compressedSize = v.getUint32(at + 20, true);
      let size = v.getUint32(at + 24, true);
      const nameLen = v.getUint16(at + 28, true);
      const extraLen = v.getUint16(at + 30, true);
      const commentLen = v.getUint16(at + 32, true);
      const disk = v.getUint16(at + 34, true);
      let localHeaderOffset = v.getUint32(at + 42, true);
      const next = at + CENTRAL_SIZE + nameLen + extraLen + commentLen;
      if (next > cdEnd) this.fail(`central directory entry ${i} runs past the directory`);
      const name = decoder.decode(buf.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLen));
      if (flags & 1) throw new WeightFileError(this.file, `zip entry "${name}" is encrypted`);

      // ZIP64 extra field: 64-bit values for exactly those fields stored as 0xFFFFFFFF, in this order.
      if (size === 0xffffffff || compressedSize === 0xffffffff || localHeaderOffset === 0xffffffff || disk === 0xffff) {
        let e = at + CENTRAL_SIZE + nameLen;
        const extraEnd = e + extraLen;
        let found = false;
        while (e + 4 <= extraEnd) {
          const id = v.getUint16(e, true);
          const len = v.getUint16(e + 2, true);
          if (e + 4 + len > extraEnd) break;
          if (id === 0x0001) {
            let f = e + 4;
            const take = (what: string): number => {
              if (f + 8 > e + 4 + len) this.fail(`ZIP64 field for "${name}" is too short`);
              const value = this.u64(v, f, what);
              f += 8;
              return value;
            };
            if (size === 0xffffffff) size = take("size");
            if (compressedSize === 0xffffffff) compressedSize = take("compressed size");
            if (localHeaderOffset === 0xffffffff) localHeaderOffset = take("local header offset");
            found = true;
            break;
          }
          e += 4 + len;
        }
        if (!found) this.fail(`entry "${name}" needs a ZIP64 extra field and has none`);
      }
      if (this.entriesByName.has(name)) this.fail(`entry "${name}" appears twice`);
      this.entriesByName.set(name, { name, method, compressedSize, size, crc32, localHeaderOffset });
      at = next;
    }
    return cdOffset;
  }

  /** A stored entry's bytes, as a view into the archive. */
  read(entry: ZipEntry): Uint8Array {
    const v = this.view();
    const at = entry.localHeaderOffset;
    if (at + LOCAL_SIZE > this.dataEnd || v.getUint32(at, true) !== SIG_LOCAL) {
      this.fail(`local header of "${entry.name}" is missing at offset ${at}`);
    }
    // The local name and extra lengths can differ from the central ones (torch pads the local extra to align data).
    const start = at + LOCAL_SIZE + v.getUint16(at + 26, true) + v.getUint16(at + 28, true);
    const end = start + entry.compressedSize;
    if (end > this.dataEnd) this.fail(`data of "${entry.name}" [${start}, ${end}) runs past the entries area (${this.dataEnd} bytes)`);
    if (entry.method !== 0) {
      throw new WeightFileError(
        this.file,
        `zip entry "${entry.name}" is compressed (method ${entry.method}); torch.save stores entries uncompressed and only that is supported`,
      );
    }
    if (entry.size !== entry.compressedSize) this.fail(`stored entry "${entry.name}" has size ${entry.size} != ${entry.compressedSize}`);
    return this.buf.subarray(start, end);
  }
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE), to check small entries such as data.pkl before parsing them. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
