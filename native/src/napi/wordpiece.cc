// BertPreTokenizer + WordPiece over normalized text whose code units are all ASCII, as
// src/tokenizers/pre-tokenizers/bert-pre-tokenizer.ts and models/wordpiece.ts do it (the same
// greedy longest-match, the same word boundaries); anything else (a code unit >= 128) is "not mine"
// (ids() returns null) and the JavaScript path handles the text. The JS side hands over everything
// that decides the result once: the vocabulary's distinct tokens and ids (its TokenTable, with
// duplicates already resolved), the ASCII character classes (from the same table the JS
// pre-tokenizer reads), the unknown token's id, the continuation prefix, the word-length limit and
// the never-split words; nothing here is typed in by hand.
#include "wordpiece.h"

#include <stdint.h>
#include <string.h>

#include <string>
#include <unordered_set>
#include <vector>

namespace bt_napi {
namespace {

constexpr uint8_t kWordChar = 0, kSpace = 1, kPunct = 2;

// FNV-1a over UTF-16 code units, finished as token-table.ts does (the layout does not have to
// match JS: this table is built here from the entries).
inline uint32_t fnv_step(uint32_t h, uint16_t c) { return (h ^ c) * 0x01000193u; }

class WordPieceTable : public Napi::ObjectWrap<WordPieceTable> {
 public:
  explicit WordPieceTable(const Napi::CallbackInfo& info);
  Napi::Value Ids(const Napi::CallbackInfo& info);

 private:
  // Id of prefix + text[start, end), or -1.
  int32_t lookup(bool with_prefix, const char16_t* text, size_t start, size_t end) const;
  void word(const char16_t* text, size_t start, size_t end, std::vector<int32_t>& out);

  std::vector<uint16_t> chars_;
  std::vector<uint32_t> starts_;
  std::vector<int32_t> ids_;
  std::vector<int32_t> slots_;  // entry + 1, 0 = empty
  uint32_t mask_ = 0;
  size_t max_token_ = 1;
  uint8_t classes_[128] = {};
  int32_t unk_ = 0;
  std::u16string prefix_;
  size_t max_chars_ = 100;
  std::unordered_set<std::u16string> pre_never_split_;
  size_t max_never_split_ = 0;
  std::unordered_set<std::u16string> model_never_split_;
  std::vector<char16_t> text_;
  std::vector<int32_t> out_;
  std::vector<int32_t> pieces_;
};

template <typename T>
T typed(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, const char* what) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw Napi::TypeError::New(info.Env(), std::string("WordPieceTable: wrong typed array for ") + what);
  return v.As<T>();
}

std::unordered_set<std::u16string> string_set(const Napi::CallbackInfo& info, size_t i, const char* what, size_t* longest) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string("WordPieceTable: expected a string array for ") + what);
  Napi::Array a = info[i].As<Napi::Array>();
  std::unordered_set<std::u16string> set;
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    if (!v.IsString()) throw Napi::TypeError::New(info.Env(), std::string("WordPieceTable: expected strings in ") + what);
    std::u16string s = v.As<Napi::String>().Utf16Value();
    if (longest && s.size() > *longest) *longest = s.size();
    set.insert(std::move(s));
  }
  return set;
}

// new WordPieceTable(chars: Uint16Array, starts: Uint32Array, ids: Int32Array, asciiClasses: Uint8Array(128),
//   unkId, prefix: string, maxInputCharsPerWord, preTokenizerNeverSplit: string[], modelNeverSplit: string[])
WordPieceTable::WordPieceTable(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WordPieceTable>(info) {
  Napi::Env env = info.Env();
  auto chars = typed<Napi::Uint16Array>(info, 0, napi_uint16_array, "chars");
  auto starts = typed<Napi::Uint32Array>(info, 1, napi_uint32_array, "starts");
  auto ids = typed<Napi::Int32Array>(info, 2, napi_int32_array, "ids");
  auto classes = typed<Napi::Uint8Array>(info, 3, napi_uint8_array, "asciiClasses");
  size_t entries = ids.ElementLength();
  if (starts.ElementLength() != entries + 1 || classes.ElementLength() != 128)
    throw Napi::RangeError::New(env, "WordPieceTable: starts must have ids.length + 1 entries and asciiClasses 128");
  if (!info[4].IsNumber() || !info[5].IsString() || !info[6].IsNumber())
    throw Napi::TypeError::New(env, "WordPieceTable: expected unkId, prefix, maxInputCharsPerWord");
  chars_.assign(chars.Data(), chars.Data() + chars.ElementLength());
  starts_.assign(starts.Data(), starts.Data() + starts.ElementLength());
  ids_.assign(ids.Data(), ids.Data() + entries);
  for (size_t e = 0; e < entries; e++) {
    if (starts_[e] > starts_[e + 1] || starts_[e + 1] > chars_.size())
      throw Napi::RangeError::New(env, "WordPieceTable: starts out of order or past chars");
    size_t len = starts_[e + 1] - starts_[e];
    if (len > max_token_) max_token_ = len;
  }
  for (int c = 0; c < 128; c++) classes_[c] = classes.Data()[c];
  unk_ = info[4].As<Napi::Number>().Int32Value();
  prefix_ = info[5].As<Napi::String>().Utf16Value();
  double max_chars = info[6].As<Napi::Number>().DoubleValue();
  max_chars_ = max_chars < 0 ? 0 : max_chars > 1e15 ? (size_t)1e15 : (size_t)max_chars;
  pre_never_split_ = string_set(info, 7, "preTokenizerNeverSplit", &max_never_split_);
  model_never_split_ = string_set(info, 8, "modelNeverSplit", nullptr);

  size_t capacity = 16;
  while (capacity < 2 * entries) capacity *= 2;
  slots_.assign(capacity, 0);
  mask_ = (uint32_t)(capacity - 1);
  for (size_t e = 0; e < entries; e++) {
    uint32_t h = 0x811c9dc5u;
    for (uint32_t k = starts_[e]; k < starts_[e + 1]; k++) h = fnv_step(h, chars_[k]);
    uint32_t slot = (h ^ (h >> 15)) & mask_;
    while (slots_[slot] != 0) slot = (slot + 1) & mask_;  // entries are distinct tokens
    slots_[slot] = (int32_t)(e + 1);
  }
}

int32_t WordPieceTable::lookup(bool with_prefix, const char16_t* text, size_t start, size_t end) const {
  uint32_t h = 0x811c9dc5u;
  if (with_prefix)
    for (char16_t c : prefix_) h = fnv_step(h, c);
  for (size_t i = start; i < end; i++) h = fnv_step(h, text[i]);
  size_t len = (with_prefix ? prefix_.size() : 0) + end - start;
  for (uint32_t slot = (h ^ (h >> 15)) & mask_;; slot = (slot + 1) & mask_) {
    int32_t s = slots_[slot];
    if (s == 0) return -1;
    uint32_t from = starts_[s - 1], to = starts_[s];
    if (to - from != len) continue;
    const uint16_t* t = chars_.data() + from;
    size_t k = 0;
    bool same = true;
    if (with_prefix)
      for (; k < prefix_.size() && same; k++) same = t[k] == prefix_[k];
    for (size_t i = start; i < end && same; i++, k++) same = t[k] == text[i];
    if (same) return ids_[s - 1];
  }
}

// models/wordpiece.ts' segment(): the whole word, else never-split words are unknown, else greedy
// longest-match pieces; a word with no complete segmentation (or too long) is one unknown token.
void WordPieceTable::word(const char16_t* text, size_t start, size_t end, std::vector<int32_t>& out) {
  size_t n = end - start;
  if (n > max_chars_) {  // ASCII: code units = code points
    out.push_back(unk_);
    return;
  }
  int32_t whole = lookup(false, text, start, end);
  if (whole >= 0) {
    out.push_back(whole);
    return;
  }
  if (!model_never_split_.empty() && model_never_split_.count(std::u16string(text + start, n))) {
    out.push_back(unk_);
    return;
  }
  pieces_.clear();
  for (size_t at = start; at < end;) {
    size_t stop = at + max_token_ < end ? at + max_token_ : end;
    int32_t found = -1;
    for (; stop > at; stop--) {
      found = lookup(at != start, text, at, stop);
      if (found >= 0) break;
    }
    if (found < 0) {
      out.push_back(unk_);
      return;
    }
    pieces_.push_back(found);
    at = stop;
  }
  out.insert(out.end(), pieces_.begin(), pieces_.end());
}

// ids(text) -> Int32Array of the word pieces of text (no special tokens), or null when text has a
// code unit >= 128 (the JS path's).
Napi::Value WordPieceTable::Ids(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "WordPieceTable.ids: expected a string");
  size_t n = 0;
  napi_status st = napi_get_value_string_utf16(env, info[0], nullptr, 0, &n);
  if (st != napi_ok) throw Napi::Error::New(env, "WordPieceTable.ids: cannot read the string");
  text_.resize(n + 1);
  st = napi_get_value_string_utf16(env, info[0], text_.data(), n + 1, &n);
  if (st != napi_ok) throw Napi::Error::New(env, "WordPieceTable.ids: cannot read the string");
  const char16_t* t = text_.data();
  for (size_t i = 0; i < n; i++)
    if (t[i] >= 128) return env.Null();

  out_.clear();
  // bert-pre-tokenizer.ts' preTokenize(): skip whitespace; a whitespace-delimited chunk that is a
  // never-split word is one word; else words run to whitespace or punctuation, and a punctuation
  // character is a word of its own.
  const bool check_never_split = max_never_split_ > 0;
  size_t chunk_end = 0;
  for (size_t i = 0; i < n;) {
    if (classes_[t[i]] == kSpace) {
      i++;
      continue;
    }
    if (check_never_split && i >= chunk_end) {
      chunk_end = i;
      while (chunk_end < n && classes_[t[chunk_end]] != kSpace) chunk_end++;
      if (chunk_end - i <= max_never_split_ && pre_never_split_.count(std::u16string(t + i, chunk_end - i))) {
        word(t, i, chunk_end, out_);
        i = chunk_end;
        continue;
      }
    }
    size_t start = i;
    while (i < n) {
      uint8_t c = classes_[t[i]];
      if (c == kSpace) break;
      if (c == kPunct) {
        if (i == start) i++;
        break;
      }
      i++;
    }
    word(t, start, i, out_);
  }
  Napi::Int32Array result = Napi::Int32Array::New(env, out_.size());
  if (!out_.empty()) memcpy(result.Data(), out_.data(), out_.size() * sizeof(int32_t));
  return result;
}

}  // namespace

Napi::Function DefineWordPieceTable(Napi::Env env) {
  return WordPieceTable::DefineClass(env, "WordPieceTable", {WordPieceTable::InstanceMethod<&WordPieceTable::Ids>("ids")});
}

}  // namespace bt_napi
