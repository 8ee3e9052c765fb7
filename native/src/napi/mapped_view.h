// A whole file mapped as an ArrayBuffer (mapped_view.cc): weight tables read in place.
#pragma once
#include <napi.h>

namespace bt_napi {
Napi::Value MapFile(const Napi::CallbackInfo& info);
Napi::Value HugePageBuffer(const Napi::CallbackInfo& info);
}
