/**
 * Reads a SentencePiece model file (`spiece.model`, `sentencepiece.bpe.model`): the protobuf
 * `ModelProto` of sentencepiece_model.proto — the pieces with their scores and types, the trainer
 * settings the encoder needs (model type, unknown/byte-fallback ids), and the normalizer spec
 * (precompiled charsmap and whitespace rules). Fields we do not use are skipped.
 */
import { readBinaryFile } from "./host.js";
import { fieldBool, fieldFloat, fieldString, fieldVarint, expectWire, ProtobufError, readFields, WIRE_BYTES } from "./protobuf.js";

/** ModelProto.SentencePiece.Type */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

export interface SentencePiece {
  piece: string;
  score: number;
  type: number;
}

/** TrainerSpec.ModelType */
export type SentencePieceModelType = "unigram" | "bpe" | "word" | "char";
const MODEL_TYPES: Record<number, SentencePieceModelType> = { 1: "unigram", 2: "bpe", 3: "word", 4: "char" };

export interface SentencePieceNormalizerSpec {
  name: string;
  /** The rules compiled into a double-array trie plus the replacement strings (empty: none). */
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

export interface SentencePieceModelProto {
  pieces: SentencePiece[];
  modelType: SentencePieceModelType;
  byteFallback: boolean;
  treatWhitespaceAsSuffix: boolean;
  unkId: number;
  unkSurface: string;
  normalizer: SentencePieceNormalizerSpec;
}

/** Reads and parses a `.model` file; errors name the file and the field. */
export async function readSentencePieceModel(path: string): Promise<SentencePieceModelProto> {
  let bytes: Uint8Array;
  try {
    bytes = await readBinaryFile(path);
  } catch (err) {
    throw new Error(`Cannot read SentencePiece model ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseSentencePieceModel(bytes, path);
}

export function parseSentencePieceModel(bytes: Uint8Array, file = "sentencepiece model"): SentencePieceModelProto {
  const model: SentencePieceModelProto = {
    pieces: [],
    modelType: "unigram",
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    unkId: 0,
    unkSurface: " \u2047 ",
    normalizer: { name: "", precompiledCharsmap: new Uint8Array(0), addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true },
  };
  let sawTrainer = false;
  for (const f of readFields(bytes, file, "ModelProto")) {
    if (f.number === 1) {
      expectWire(f, WIRE_BYTES, file, `ModelProto.pieces[${model.pieces.length}]`);
      model.pieces.push(readPiece(f.bytes, file, model.pieces.length));
    } else if (f.number === 2) {
      expectWire(f, WIRE_BYTES, file, "ModelProto.trainer_spec");
      readTrainerSpec(f.bytes, file, model);
      sawTrainer = true;
    } else if (f.number === 3) {
      expectWire(f, WIRE_BYTES, file, "ModelProto.normalizer_spec");
      readNormalizerSpec(f.bytes, file, model.normalizer);
    }
  }
  if (model.pieces.length === 0) throw new ProtobufError(file, "ModelProto.pieces", "no pieces (not a SentencePiece model, or an empty one)");
  if (!sawTrainer) throw new ProtobufError(file, "ModelProto.trainer_spec", "missing (not a SentencePiece model?)");
  const unknown = model.pieces.findIndex((p) => p.type === PieceType.UNKNOWN);
  if (unknown < 0) throw new ProtobufError(file, "ModelProto.pieces", "no piece of type UNKNOWN (sentencepiece requires one)");
  model.unkId = unknown;
  return model;
}

function readPiece(buf: Uint8Array, file: string, index: number): SentencePiece {
  const where = `ModelProto.pieces[${index}]`;
  const p: SentencePiece = { piece: "", score: 0, type: PieceType.NORMAL };
  let hasPiece = false;
  for (const f of readFields(buf, file, where)) {
    if (f.number === 1) {
      p.piece = fieldString(f, file, `${where}.piece`);
      hasPiece = true;
    } else if (f.number === 2) p.score = fieldFloat(f, file, `${where}.score`);
    else if (f.number === 3) {
      p.type = fieldVarint(f, file, `${where}.type`);
      if (p.type < 1 || p.type > 6) throw new ProtobufError(file, `${where}.type`, `unknown piece type ${p.type}`);
    }
  }
  if (!hasPiece || p.piece.length === 0) throw new ProtobufError(file, `${where}.piece`, "missing or empty");
  return p;
}

function readTrainerSpec(buf: Uint8Array, file: string, model: SentencePieceModelProto): void {
  const where = "ModelProto.trainer_spec";
  for (const f of readFields(buf, file, where)) {
    switch (f.number) {
      case 3: {
        const t = fieldVarint(f, file, `${where}.model_type`);
        const type = Object.hasOwn(MODEL_TYPES, t) ? MODEL_TYPES[t] : undefined;
        if (type === undefined) throw new ProtobufError(file, `${where}.model_type`, `unknown model type ${t}`);
        model.modelType = type;
        break;
      }
      case 24:
        model.treatWhitespaceAsSuffix = fieldBool(f, file, `${where}.treat_whitespace_as_suffix`);
        break;
      case 35:
        model.byteFallback = fieldBool(f, file, `${where}.byte_fallback`);
        break;
      case 44:
        model.unkSurface = fieldString(f, file, `${where}.unk_surface`);
        break;
    }
  }
}

function readNormalizerSpec(buf: Uint8Array, file: string, spec: SentencePieceNormalizerSpec): void {
  const where = "ModelProto.normalizer_spec";
  for (const f of readFields(buf, file, where)) {
    switch (f.number) {
      case 1:
        spec.name = fieldString(f, file, `${where}.name`);
        break;
      case 2:
        expectWire(f, WIRE_BYTES, file, `${where}.precompiled_charsmap`);
        spec.precompiledCharsmap = f.bytes;
        break;
      case 3:
        spec.addDummyPrefix = fieldBool(f, file, `${where}.add_dummy_prefix`);
        break;
      case 4:
        spec.removeExtraWhitespaces = fieldBool(f, file, `${where}.remove_extra_whitespaces`);
        break;
      case 5:
        spec.escapeWhitespaces = fieldBool(f, file, `${where}.escape_whitespaces`);
        break;
    }
  }
}
