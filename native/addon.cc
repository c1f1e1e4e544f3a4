// vtl_native: the iSCSI socket layer (see connection.h, listener.h, framer.h, crc32c.h).
#include "addon.h"

#include "connection.h"
#include "crc32c.h"
#include "framer.h"
#include "listener.h"

namespace vtl {
namespace {

Napi::Value Crc32cJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "crc32c(buf, initial?): buf must be a Uint8Array")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t initial = 0;
  if (info.Length() >= 2 && !info[1].IsUndefined()) {
    if (!info[1].IsNumber()) {
      Napi::TypeError::New(env, "crc32c(buf, initial?): initial must be a number")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    initial = info[1].As<Napi::Number>().Uint32Value();
  }
  Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
  const uint8_t* p = buf.Data();
  return Napi::Number::New(env, Crc32c(initial, p, buf.ByteLength()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Function connection = Connection::Define(env);
  Napi::Function listener = Listener::Define(env);
  data->connectionCtor = Napi::Persistent(connection);
  data->listenerCtor = Napi::Persistent(listener);
  env.SetInstanceData(data);
  exports.Set("Connection", connection);
  exports.Set("Listener", listener);
  exports.Set("META_FIELDS", Napi::Number::New(env, kMetaFields));
  exports.Set("crc32c", Napi::Function::New(env, Crc32cJs, "crc32c"));
  exports.Set("crc32cHardware", Napi::Boolean::New(env, Crc32cHardware()));
  return exports;
}

}  // namespace
}  // namespace vtl

static Napi::Object InitVtlNative(Napi::Env env, Napi::Object exports) {
  return vtl::Init(env, exports);
}

NODE_API_MODULE(vtl_native, InitVtlNative)
