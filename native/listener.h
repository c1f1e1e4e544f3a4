// A listening socket on Node's libuv loop; each accepted socket becomes a Connection.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>

namespace vtl {

class Listener : public Napi::ObjectWrap<Listener> {
 public:
  static const napi_type_tag kTypeTag;
  static constexpr const char* kClassName = "Listener";
  static Napi::Function Define(Napi::Env env);
  explicit Listener(const Napi::CallbackInfo& info);
  ~Listener() override;

 private:
  Napi::Value Port(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnClosed(uv_handle_t* handle);
  void Accept();

  Napi::Env env_;
  int fd_ = -1;
  int port_ = 0;
  bool open_ = false;
  uv_poll_t poll_;
  Napi::FunctionReference onConnection_;
  Napi::FunctionReference onClosed_;
  std::unique_ptr<Napi::AsyncContext> async_;
};

}  // namespace vtl
