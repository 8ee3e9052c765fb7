/**
 * Where the tokenizer meets the backend: a WordPiece tokenizer running beside the native backend
 * gets the addon's word loop for encodeIds (the embed path tokenises every text before its first
 * batch; in JavaScript that loop also kept V8's optimising compiler busy on the cores the kernel
 * pool needs). The tokenizer stays exact: the native loop takes ASCII text only and hands anything
 * else back to the JavaScript path.
 */
import { wordPieceAcceleratorFor, type Backend } from "../backend/index.js";
import { BertTokenizer } from "../tokenizers/bert-tokenizer.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";

/** Attaches the native word loop when the backend is native and the tokenizer's pipeline is BERT's; returns whether it did. */
export function accelerateWordPiece(tokenizer: Tokenizer, backend: Backend): boolean {
  if (!(tokenizer instanceof BertTokenizer)) return false;
  const spec = tokenizer.wordPieceTableSpec();
  if (spec === null) return false;
  const accelerator = wordPieceAcceleratorFor(backend, spec);
  if (accelerator === undefined) return false;
  tokenizer.useWordPieceAccelerator(accelerator);
  return true;
}
