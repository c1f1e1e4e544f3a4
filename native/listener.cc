// Listening socket; see listener.h. Only numeric IPv4/IPv6 hosts (native.ts checks first, so
// no name lookup ever blocks the loop).
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "addon.h"
#include "connection.h"

namespace vtl {
namespace {

constexpr int kBacklog = 511;

// The numeric address and port of a socket address.
void Describe(const sockaddr_storage& ss, std::string* host, int* port) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    *port = ntohs(a->sin6_port);
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    *port = ntohs(a->sin_port);
  }
  *host = buf;
}

}  // namespace

const napi_type_tag Listener::kTypeTag = {0x1b5e2c7d9a3f4e60ULL, 0xa48c0f6e2d7b9153ULL};

Napi::Function Listener::Define(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, kClassName, {});
  Napi::Object proto = ctor.Get("prototype").As<Napi::Object>();
  AddMethod<Listener, &Listener::Port>(env, proto, "port");
  AddMethod<Listener, &Listener::Close>(env, proto, "close");
  return ctor;
}

Listener::Listener(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Listener>(info), env_(info.Env()) {
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsFunction()) {
    Napi::TypeError::New(env_, "new Listener(host: string, port: number, onConnection: function)")
        .ThrowAsJavaScriptException();
    return;
  }
  const std::string host = info[0].As<Napi::String>();
  const double port = info[1].As<Napi::Number>().DoubleValue();
  if (!(port >= 0 && port <= 65535) || port != static_cast<double>(static_cast<int>(port))) {
    Napi::RangeError::New(env_, "port must be an integer from 0 to 65535")
        .ThrowAsJavaScriptException();
    return;
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *a4;
  } else if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *a6;
  } else {
    Napi::TypeError::New(env_, "host must be an IPv4 or IPv6 literal, got \"" + host + "\"")
        .ThrowAsJavaScriptException();
    return;
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const char* step = "socket";
  if (fd >= 0) {
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    step = "bind";
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
      step = "listen";
      if (::listen(fd, kBacklog) == 0) step = nullptr;
    }
  }
  if (step != nullptr) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    Napi::Error e = Napi::Error::New(env_, std::string(step) + " " + std::strerror(err));
    e.Set("errno", Napi::Number::New(env_, err));
    e.ThrowAsJavaScriptException();
    return;
  }
  sockaddr_storage bound{};
  socklen_t boundLen = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &boundLen);
  std::string ignored;
  Describe(bound, &ignored, &port_);
  fd_ = fd;
  onConnection_ = Napi::Persistent(info[2].As<Napi::Function>());
  async_ = std::make_unique<Napi::AsyncContext>(env_, "vtl_native.Listener");
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env_, &loop);
  uv_poll_init_socket(loop, &poll_, fd_);
  poll_.data = this;
  uv_poll_start(&poll_, UV_READABLE, OnPoll);
  open_ = true;
  Ref();  // alive while listening
}

Listener::~Listener() {
  if (fd_ >= 0 && !open_) ::close(fd_);
}

Napi::Value Listener::Port(const Napi::CallbackInfo&) { return Napi::Number::New(env_, port_); }

Napi::Value Listener::Close(const Napi::CallbackInfo& info) {
  if (info.Length() >= 1 && !info[0].IsUndefined() && !info[0].IsFunction()) {
    Napi::TypeError::New(env_, "close(onClosed?): onClosed must be a function")
        .ThrowAsJavaScriptException();
    return env_.Undefined();
  }
  if (open_) {
    open_ = false;
    if (info.Length() >= 1 && info[0].IsFunction()) {
      onClosed_ = Napi::Persistent(info[0].As<Napi::Function>());
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_), OnClosed);
  }
  return env_.Undefined();
}

void Listener::OnClosed(uv_handle_t* handle) {
  auto* self = static_cast<Listener*>(handle->data);
  // libuv no longer watches the descriptor, so it can be closed now.
  ::close(self->fd_);
  self->fd_ = -1;
  self->onConnection_.Reset();
  if (!self->onClosed_.IsEmpty()) {
    Napi::HandleScope scope(self->env_);
    CallFromLoop(self->env_, self->onClosed_, self->Value(), {}, *self->async_);
    self->onClosed_.Reset();
  }
  self->Unref();
}

void Listener::OnPoll(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<Listener*>(handle->data);
  if (status < 0 || !self->open_) return;
  Napi::HandleScope scope(self->env_);
  self->Accept();
}

void Listener::Accept() {
  while (open_) {
    sockaddr_storage peer{};
    socklen_t peerLen = sizeof peer;
    const int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &peerLen,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN, or EMFILE and friends: try again on the next readable event
    }
    // iSCSI is request/response: a lone Nagle-delayed status would cost a round trip.
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_storage local{};
    socklen_t localLen = sizeof local;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &localLen);
    std::string remoteHost, localHost;
    int remotePort = 0, localPort = 0;
    Describe(peer, &remoteHost, &remotePort);
    Describe(local, &localHost, &localPort);
    Napi::HandleScope scope(env_);
    Napi::Object conn = Connection::Create(env_, fd);
    if (env_.IsExceptionPending()) {
      Napi::Error err = env_.GetAndClearPendingException();
      ::close(fd);
      napi_fatal_exception(env_, err.Value());
      return;
    }
    CallFromLoop(env_, onConnection_, Value(),
                 {conn, Napi::String::New(env_, remoteHost), Napi::Number::New(env_, remotePort),
                  Napi::String::New(env_, localHost), Napi::Number::New(env_, localPort)},
                 *async_);
    Connection::FromObject(conn)->Start();
  }
}

}  // namespace vtl
