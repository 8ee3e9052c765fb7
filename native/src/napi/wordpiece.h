// BERT pre-tokenization + WordPiece of already-normalized ASCII text (wordpiece.cc): the word loop
// of Tokenizer.encodeIds without its JavaScript (src/tokenizers: BertPreTokenizer, WordPiece).
#pragma once
#include <napi.h>

namespace bt_napi {
// class WordPieceTable { constructor(...); ids(text: string): Int32Array | null }
Napi::Function DefineWordPieceTable(Napi::Env env);
}  // namespace bt_napi
