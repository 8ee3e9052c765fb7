// Float32 vectors as JSON number lists, written as JavaScript's Number::toString writes them
// (json_numbers.cc): the embed command's JSONL output without a number-by-number JS round trip.
#pragma once
#include <napi.h>

#include <stddef.h>

namespace bt_napi {
// The shortest round-trip decimal of x in ECMAScript Number::toString's layout ("null" for NaN and
// infinities, "0" for both zeros: what JSON.stringify writes). out must hold 32 bytes; returns the length.
size_t format_js_number(double x, char* out);
// Whether this build can (std::to_chars for double: GCC 11+, recent libc++).
bool js_numbers_available();
// jsonNumbersInto(values: Float32Array, target: Uint8Array, offset) -> end offset: "v0,v1,..." as bytes.
Napi::Value JsonNumbersInto(const Napi::CallbackInfo& info);
// jsonNumberRowsInto(rows: Float32Array[], target: Uint8Array, ends: Uint32Array): each row as above, in
// its own slot of target (33 bytes per value of the rows before it), formatted on the thread pool.
Napi::Value JsonNumberRowsInto(const Napi::CallbackInfo& info);
}  // namespace bt_napi
