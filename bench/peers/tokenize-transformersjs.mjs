#!/usr/bin/env node
// The peer for the whole-process tokenize row of bench/tokenizer.ts, used as a transformers.js user
// would: AutoTokenizer on the model folder, a file of texts in (a line each), JSONL out with the ids,
// token types and attention mask of each text (fewer fields than `bert-ts tokenize` writes).
// Usage: node tokenize-transformersjs.mjs --model DIR --input FILE --output FILE
import { readFileSync, writeFileSync } from "node:fs";
import { AutoTokenizer, env } from "@huggingface/transformers";

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
env.allowRemoteModels = false;
env.allowLocalModels = true;
const texts = readFileSync(args.input, "utf8").split("\n").filter((l) => l.length > 0);
const tokenizer = await AutoTokenizer.from_pretrained(args.model, { local_files_only: true });
const out = [];
for (const text of texts) {
  const e = tokenizer(text);
  out.push(JSON.stringify({ text, input_ids: Array.from(e.input_ids.data, Number), token_type_ids: Array.from(e.token_type_ids.data, Number), attention_mask: Array.from(e.attention_mask.data, Number) }));
}
writeFileSync(args.output, out.join("\n") + "\n");
