/**
 * `bert-ts tokenize`: texts → tokens, ids, masks and offsets, as the model folder's tokenizer
 * produces them (the same numbers as Hugging Face's tokenizer).
 */
import type { Command } from "commander";
import { codePointOffsets, loadTokenizer, type Encoding, type Tokenizer, type TruncationStrategy } from "../../tokenizers/index.js";
import { ByteWriter, CliError, formatTable, OutputSink, parseNonNegativeInt, parsePositiveInt, readInputs, resolveFormat, type TextInputRecord } from "../io.js";
import { resolveModelArg } from "../model-arg.js";

interface TokenizeFlags {
  model?: string;
  input?: string;
  pair?: string;
  format?: string;
  output?: string;
  maxLength?: number;
  truncation?: string | boolean;
  stride?: number;
  offsets: string;
  specialTokens: boolean;
}

const STRATEGIES = ["longest_first", "only_first", "only_second"];

export function registerTokenize(program: Command): void {
  program
    .command("tokenize")
    .description("Split texts into tokens: ids, token types, attention mask and character offsets")
    .argument("[texts...]", "texts to tokenize (else --input FILE, else lines on stdin)")
    .requiredOption("-m, --model <id|dir>", "model folder (with tokenizer.json or vocab.txt) or Hugging Face id")
    .option("-i, --input <file>", "read texts from FILE: .jsonl (a string or [text, pair] a line) or one text a line; - for stdin")
    .option("--pair <text>", "second text of a pair, for every input text")
    .option("-f, --format <format>", "text (readable; default on a terminal) or jsonl (default otherwise)")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .option("--max-length <n>", "truncate to N tokens, special tokens included (default: no truncation)", parsePositiveInt("--max-length"))
    .option("--truncation [strategy]", "truncate to --max-length (default the model's limit): longest_first, only_first or only_second")
    .option("--stride <n>", "keep what truncation cuts as overlapping windows sharing N tokens (Hugging Face's return_overflowing_tokens + stride); 0 for no overlap", parseNonNegativeInt("--stride"))
    .option("--offsets <unit>", "offsets in utf16 code units (JavaScript string indices) or code-points (Python's str indices)", "utf16")
    .option("--no-special-tokens", "do not add [CLS]/[SEP]")
    .action(async (texts: string[], flags: TokenizeFlags) => {
      await runTokenize(texts, flags);
    });
}

async function runTokenize(texts: string[], flags: TokenizeFlags): Promise<void> {
  let truncation: TruncationStrategy | false = false;
  if (flags.truncation === true) truncation = "longest_first";
  else if (typeof flags.truncation === "string") {
    if (!STRATEGIES.includes(flags.truncation)) {
      throw new CliError(`Unknown --truncation ${JSON.stringify(flags.truncation)}: expected ${STRATEGIES.join(", ")}`);
    }
    truncation = flags.truncation as TruncationStrategy;
  } else if (flags.maxLength !== undefined || flags.stride !== undefined) truncation = "longest_first";
  if (flags.offsets !== "utf16" && flags.offsets !== "code-points") throw new CliError(`Unknown --offsets ${JSON.stringify(flags.offsets)}: expected utf16 or code-points`);
  const format = resolveFormat(flags.format, flags.output);
  const tokenizer = await loadTokenizer(await resolveModelArg(flags.model, undefined, { tokenizerOnly: true }));
  const records = await readInputs({ args: texts, input: flags.input, pair: flags.pair });
  const sink = new OutputSink(flags.output);
  const options = { truncation, maxLength: flags.maxLength, addSpecialTokens: flags.specialTokens, stride: flags.stride, returnOverflowingTokens: flags.stride !== undefined };
  const out = new ByteWriter(sink);
  try {
    for (let index = 0; index < records.length; index++) {
      const record = records[index];
      const encoding = tokenizer.encode(record.text, record.pair ?? null, options);
      const shown = (e: Encoding) => (flags.offsets === "code-points" ? codePointOffsets(e, record.text, record.pair) : e.offsets);
      if (format === "jsonl") writeJsonLine(out, record, encoding, shown, options.returnOverflowingTokens);
      else {
        const all = [encoding, ...encoding.overflowing];
        const parts = all.map((e, k) => (all.length > 1 ? `window ${k + 1} of ${all.length}\n` : "") + toReadable(record, e, shown(e), tokenizer));
        sink.write((index > 0 ? "\n" : "") + parts.join("\n") + "\n");
      }
      // Bounded memory on any input size; the written chunks are reused.
      if (out.backlog > 2) await out.settle();
    }
    out.flush();
  } catch (err) {
    await sink.discard();
    throw err;
  }
  await sink.close();
}

/**
 * One JSONL line, Hugging Face's field names: byte for byte what JSON.stringify gives for
 * { text, text_pair?, tokens, input_ids, token_type_ids, attention_mask, special_tokens_mask,
 * offsets, word_ids, num_truncated_tokens, overflowing? }, written straight into the output chunk.
 */
export function writeJsonLine(
  out: ByteWriter,
  record: TextInputRecord,
  e: Encoding,
  shown: (e: Encoding) => readonly (readonly [number, number])[] = (x) => x.offsets,
  withOverflowing = false,
): void {
  out.text(`{"text":`).jsonString(record.text);
  if (record.pair !== undefined) out.text(`,"text_pair":`).jsonString(record.pair);
  writeEncodingFields(out, e, shown(e));
  if (withOverflowing) {
    out.text(`,"overflowing":[`);
    e.overflowing.forEach((w, k) => {
      out.text(k ? ",{" : "{");
      writeEncodingFields(out, w, shown(w), true);
      out.text("}");
    });
    out.text("]");
  }
  out.text("}\n");
}

/** One encoding's fields after an opening brace (first: no leading comma). */
function writeEncodingFields(out: ByteWriter, e: Encoding, offsets: readonly (readonly [number, number])[], first = false): void {
  out.text(first ? `"tokens":` : `,"tokens":`).jsonStrings(e.tokens).text(`,"input_ids":`).uints(e.inputIds);
  out.text(`,"token_type_ids":`).uints(e.tokenTypeIds).text(`,"attention_mask":`).uints(e.attentionMask);
  out.text(`,"special_tokens_mask":`).uints(e.specialTokensMask).text(`,"offsets":`).uintPairs(offsets);
  out.text(`,"word_ids":`).uintsOrNulls(e.wordIds);
  out.text(`,"num_truncated_tokens":`).uint(e.numTruncatedTokens ?? 0);
}

/** Tokens with ids, token types and offsets in aligned columns. */
/** offsets: as displayed (UTF-16 or code points); the source column slices with the encoding's own. */
function toReadable(record: TextInputRecord, e: Encoding, offsets: [number, number][], tokenizer: Tokenizer): string {
  const header = record.pair === undefined ? `text: ${JSON.stringify(record.text)}` : `text: ${JSON.stringify(record.text)}\npair: ${JSON.stringify(record.pair)}`;
  const rows: string[][] = [["#", "token", "id", "type", "offsets", "source"]];
  e.inputIds.forEach((id, k) => {
    const [s, t] = e.offsets[k];
    const seq = e.sequenceIds[k];
    const source = seq === null ? "" : (seq === 0 ? record.text : record.pair ?? "").slice(s, t);
    rows.push([String(k), e.tokens[k], String(id), String(e.tokenTypeIds[k]), seq === null ? "" : `${offsets[k][0]}-${offsets[k][1]}`, source]);
  });
  const truncated = e.numTruncatedTokens ? `\n(${e.numTruncatedTokens} tokens truncated to fit ${e.inputIds.length}; model limit ${tokenizer.modelMaxLength})` : "";
  return `${header}\n${formatTable(rows, [true, false, true, true, false, false])}\n${e.inputIds.length} tokens${truncated}`;
}
