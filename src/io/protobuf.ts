/**
 * A minimal reader of the protobuf wire format (varints, 32/64-bit fixed fields, length-delimited
 * fields), enough to read a SentencePiece `.model` file without a protobuf library. Every read is
 * bounds-checked; a truncated or malformed message throws a ProtobufError that names the file and
 * the field being read.
 */

export class ProtobufError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${file}: ${field}: ${detail}`);
    this.name = "ProtobufError";
  }
}

/** Wire types (the low 3 bits of a field key). */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

export interface ProtoField {
  /** Field number from the .proto definition. */
  number: number;
  wireType: number;
  /** Varint value (as a JS number; exact up to 2^53) for WIRE_VARINT. */
  varint: number;
  /** The field's bytes for WIRE_BYTES, WIRE_FIXED32 and WIRE_FIXED64 (a view, not a copy). */
  bytes: Uint8Array;
}

/** Walks the fields of one message, in file order. `where` names the message in errors. */
export function* readFields(buf: Uint8Array, file: string, where: string): Generator<ProtoField> {
  let pos = 0;
  const fail = (field: string, detail: string): never => {
    throw new ProtobufError(file, field, detail);
  };
  const readVarint = (field: string): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) fail(field, `truncated varint at byte ${pos} of ${buf.length}`);
      const b = buf[pos++];
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    return fail(field, `varint longer than 10 bytes at byte ${pos}`);
  };
  while (pos < buf.length) {
    const key = readVarint(`${where} (field key)`);
    const number = Math.floor(key / 8);
    const wireType = key % 8;
    const name = `${where}.field ${number}`;
    if (number === 0) fail(name, `invalid field number 0 at byte ${pos}`);
    switch (wireType) {
      case WIRE_VARINT:
        yield { number, wireType, varint: readVarint(name), bytes: buf.subarray(0, 0) };
        break;
      case WIRE_FIXED64:
      case WIRE_FIXED32: {
        const size = wireType === WIRE_FIXED32 ? 4 : 8;
        if (pos + size > buf.length) fail(name, `truncated ${size * 8}-bit value at byte ${pos} of ${buf.length}`);
        yield { number, wireType, varint: 0, bytes: buf.subarray(pos, pos + size) };
        pos += size;
        break;
      }
      case WIRE_BYTES: {
        const length = readVarint(name);
        if (pos + length > buf.length) fail(name, `length ${length} at byte ${pos} runs past the end (${buf.length} bytes): truncated file?`);
        yield { number, wireType, varint: 0, bytes: buf.subarray(pos, pos + length) };
        pos += length;
        break;
      }
      default:
        fail(name, `unsupported wire type ${wireType} at byte ${pos} (not a protobuf message?)`);
    }
  }
}

/** Checks a field's wire type; `name` is the .proto field name for the error. */
export function expectWire(field: ProtoField, wireType: number, file: string, name: string): void {
  if (field.wireType !== wireType) {
    throw new ProtobufError(file, name, `expected wire type ${wireType} but found ${field.wireType} (not a valid message of this type)`);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function fieldString(field: ProtoField, file: string, name: string): string {
  expectWire(field, WIRE_BYTES, file, name);
  try {
    return utf8.decode(field.bytes);
  } catch {
    throw new ProtobufError(file, name, "is not valid UTF-8");
  }
}

export function fieldFloat(field: ProtoField, file: string, name: string): number {
  expectWire(field, WIRE_FIXED32, file, name);
  return new DataView(field.bytes.buffer, field.bytes.byteOffset, 4).getFloat32(0, true);
}

export function fieldVarint(field: ProtoField, file: string, name: string): number {
  expectWire(field, WIRE_VARINT, file, name);
  return field.varint;
}

/** An int32 field: negative values are sign-extended 10-byte varints. */
export function fieldInt32(field: ProtoField, file: string, name: string): number {
  const v = fieldVarint(field, file, name);
  return v >= 2 ** 31 ? Number(BigInt.asIntN(32, BigInt(v))) : v;
}

export function fieldBool(field: ProtoField, file: string, name: string): boolean {
  return fieldVarint(field, file, name) !== 0;
}
