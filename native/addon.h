// Per-environment state of the addon and the checked method trampolines every wrapper uses.
#pragma once

#include <napi.h>

namespace vtl {

struct AddonData {
  Napi::FunctionReference connectionCtor;
  Napi::FunctionReference listenerCtor;
};

inline AddonData* GetAddonData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

// A prototype method that first checks `this` carries T's type tag, so a method borrowed onto
// another object throws TypeError instead of unwrapping the wrong C++ type (zstd-napi habit).
template <typename T, Napi::Value (T::*Method)(const Napi::CallbackInfo&)>
Napi::Value Checked(const Napi::CallbackInfo& info) {
  Napi::Value self = info.This();
  if (!self.IsObject() || !self.As<Napi::Object>().CheckTypeTag(&T::kTypeTag)) {
    Napi::TypeError::New(info.Env(), std::string("receiver is not a ") + T::kClassName)
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  T* obj = T::Unwrap(self.As<Napi::Object>());
  return (obj->*Method)(info);
}

template <typename T, Napi::Value (T::*Method)(const Napi::CallbackInfo&)>
void AddMethod(Napi::Env env, Napi::Object proto, const char* name) {
  proto.Set(name, Napi::Function::New(env, Checked<T, Method>, name));
}

// Calls `fn` from a libuv callback (so microtasks run after it) and turns a JS exception
// thrown by it into an uncaught exception, as Node does for its own callbacks.
inline void CallFromLoop(Napi::Env env, const Napi::FunctionReference& fn, Napi::Value recv,
                         std::initializer_list<napi_value> args, Napi::AsyncContext& ctx) {
  fn.MakeCallback(recv, args, ctx);
  if (env.IsExceptionPending()) {
    Napi::Error err = env.GetAndClearPendingException();
    napi_fatal_exception(env, err.Value());
  }
}

}  // namespace vtl
