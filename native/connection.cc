// One connection, lifecycle and receive side; see connection.h (the send side is in
// connection_send.cc). Everything runs on the JS thread: libuv says when the socket is readable
// or writable, and JS is called only from those callbacks.
#include "connection.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "addon.h"
#include "util.h"

namespace vtl {
namespace {

constexpr size_t kLowWater = 1024 * 1024;  // onDrain once the queue is back under this
constexpr size_t kMaxReadPerEvent = 4 * 1024 * 1024;  // fairness between connections
constexpr uint32_t kMetaCapacity = 1024;              // PDUs per onPdus call
constexpr uint64_t kLingerMs = 5000;
constexpr size_t kMaxLowWater = 1024 * 1024;  // SO_RCVLOWAT while a large segment arrives
constexpr uint64_t kSpinNs = 50 * 1000;  // how long to poll for the next command (SpinForMore)
constexpr int kMaxSpinMisses = 4;        // spins in a row that found nothing before giving up
constexpr int kMaxRounds = 32;           // read rounds per readable event, spins included

uint64_t NowNs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
}  // after end(): how long to wait for the peer's FIN

thread_local int pendingFd = -1;  // the socket Create hands to the constructor (per thread: workers)

}  // namespace

const napi_type_tag Connection::kTypeTag = {0x7674c0a1e5f04c3bULL, 0x9d1e6b2a4f3c8e71ULL};

Napi::Function Connection::Define(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, kClassName, {});
  Napi::Object proto = ctor.Get("prototype").As<Napi::Object>();
  AddMethod<Connection, &Connection::SetCallbacks>(env, proto, "setCallbacks");
  AddMethod<Connection, &Connection::Meta>(env, proto, "meta");
  AddMethod<Connection, &Connection::SetDigests>(env, proto, "setDigests");
  AddMethod<Connection, &Connection::SetMaxRecv>(env, proto, "setMaxRecvDataSegmentLength");
  AddMethod<Connection, &Connection::Send>(env, proto, "send");
  AddMethod<Connection, &Connection::Recycle>(env, proto, "recycle");
  AddMethod<Connection, &Connection::WritableLength>(env, proto, "writableLength");
  AddMethod<Connection, &Connection::Pause>(env, proto, "pause");
  AddMethod<Connection, &Connection::Resume>(env, proto, "resume");
  AddMethod<Connection, &Connection::End>(env, proto, "end");
  AddMethod<Connection, &Connection::Destroy>(env, proto, "destroy");
  return ctor;
}

Napi::Object Connection::Create(Napi::Env env, int fd) {
  pendingFd = fd;
  Napi::Object obj = GetAddonData(env)->connectionCtor.New({});
  pendingFd = -1;
  return obj;
}

Connection* Connection::FromObject(Napi::Object obj) { return Unwrap(obj); }

Connection::Connection(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Connection>(info), env_(info.Env()), framer_(info.Env()) {
  if (pendingFd < 0) {
    Napi::TypeError::New(env_, "Connection objects are made by a Listener, not by new")
        .ThrowAsJavaScriptException();
    return;
  }
  fd_ = pendingFd;
  pendingFd = -1;
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  Napi::Uint32Array meta = Napi::Uint32Array::New(env_, kMetaCapacity * kMetaFields);
  metaData_ = meta.Data();
  meta_ = Napi::Reference<Napi::Uint32Array>::New(meta, 1);
  async_ = std::make_unique<Napi::AsyncContext>(env_, "vtl_native.Connection");
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env_, &loop);
  uv_poll_init_socket(loop, &poll_, fd_);
  poll_.data = this;
  uv_timer_init(loop, &linger_);
  linger_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&linger_));
  handlesOpen_ = 2;
  // Alive while open, whether or not JS holds it; released once closed.
  Ref();
}

Connection::~Connection() {
  if (fd_ >= 0 && handlesOpen_ == 0) ::close(fd_);
}

void Connection::Start() {
  started_ = true;
  UpdatePoll();
}

template <typename F>
void Connection::FromLoop(F&& work) {
  Napi::HandleScope scope(env_);
  loopDepth_++;
  work();
  loopDepth_--;
}

// ---- JS-facing methods ----

Napi::Value Connection::SetCallbacks(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env_, "setCallbacks(callbacks): callbacks must be an object")
        .ThrowAsJavaScriptException();
    return env_.Undefined();
  }
  Napi::Object cbs = info[0].As<Napi::Object>();
  const char* names[] = {"onPdus", "onError", "onClose", "onDrain"};
  Napi::FunctionReference* refs[] = {&onPdus_, &onError_, &onClose_, &onDrain_};
  Napi::Function fns[4];
  for (int i = 0; i < 4; i++) {
    Napi::Value v = cbs.Get(names[i]);
    if (!v.IsFunction()) {
      Napi::TypeError::New(env_, std::string("setCallbacks: ") + names[i] + " must be a function")
          .ThrowAsJavaScriptException();
      return env_.Undefined();
    }
    fns[i] = v.As<Napi::Function>();
  }
  for (int i = 0; i < 4; i++) *refs[i] = Napi::Persistent(fns[i]);
  return env_.Undefined();
}

Napi::Value Connection::Meta(const Napi::CallbackInfo&) { return meta_.Value(); }

Napi::Value Connection::SetDigests(const Napi::CallbackInfo& info) {
  if (info.Length() < 2 || !info[0].IsBoolean() || !info[1].IsBoolean()) {
    Napi::TypeError::New(env_, "setDigests(header, data): both must be booleans")
        .ThrowAsJavaScriptException();
    return env_.Undefined();
  }
  headerDigest_ = info[0].As<Napi::Boolean>();
  dataDigest_ = info[1].As<Napi::Boolean>();
  framer_.SetDigests(headerDigest_, dataDigest_);
  return env_.Undefined();
}

Napi::Value Connection::SetMaxRecv(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env_, "setMaxRecvDataSegmentLength(bytes): bytes must be a number")
        .ThrowAsJavaScriptException();
    return env_.Undefined();
  }
  const double v = info[0].As<Napi::Number>().DoubleValue();
  if (!(v >= 512 && v <= 0xffffff) || v != static_cast<double>(static_cast<uint32_t>(v))) {
    Napi::RangeError::New(env_, "MaxRecvDataSegmentLength must be an integer from 512 to 16777215")
        .ThrowAsJavaScriptException();
    return env_.Undefined();
  }
  framer_.SetMaxRecv(static_cast<uint32_t>(v));
  return env_.Undefined();
}

Napi::Value Connection::WritableLength(const Napi::CallbackInfo&) {
  return Napi::Number::New(env_, static_cast<double>(queued_));
}

Napi::Value Connection::Pause(const Napi::CallbackInfo&) {
  paused_ = true;
  UpdatePoll();
  return env_.Undefined();
}

Napi::Value Connection::Resume(const Napi::CallbackInfo&) {
  paused_ = false;
  UpdatePoll();
  return env_.Undefined();
}

Napi::Value Connection::End(const Napi::CallbackInfo&) {
  if (state_ == State::Open) {
    state_ = State::Ending;
    MaybeShutdown();
    UpdatePoll();
  }
  return env_.Undefined();
}

Napi::Value Connection::Destroy(const Napi::CallbackInfo&) {
  Close();
  return env_.Undefined();
}

// ---- loop side ----

void Connection::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<Connection*>(handle->data);
  self->FromLoop([&] {
    if (status < 0) {
      // libuv reports POLLERR as UV_EBADF; the socket's own error says what happened.
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      self->Fail("ERR_TRANSPORT", err != 0 ? Errno("poll", err)
                                          : std::string("socket error: ") + uv_strerror(status));
      return;
    }
    if (events & UV_WRITABLE) self->OnWritable();
    if ((events & (UV_READABLE | UV_DISCONNECT)) && self->state_ < State::Closing) {
      self->OnReadable();
    }
  });
}

void Connection::OnLinger(uv_timer_t* handle) {
  auto* self = static_cast<Connection*>(handle->data);
  self->FromLoop([&] {
    if (!self->deferredError_.empty()) {
      std::string msg;
      msg.swap(self->deferredError_);
      self->Fail("ERR_TRANSPORT", msg);
    } else {
      self->Close();  // the peer never closed after our FIN
    }
  });
}

void Connection::OnReadable() {
  if (state_ == State::Ending || state_ == State::ShutDown) {
    // After end(): drop what arrives, but read it, so that closing does not become a reset
    // that would throw away what we still send; EOF completes the close.
    uint8_t sink[16384];
    for (;;) {
      ssize_t n = ::read(fd_, sink, sizeof sink);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      Close();
      return;
    }
  }
  // A gap this short since we last went idle means the peer answers fast: spinning pays again.
  if (spinMisses_ >= kMaxSpinMisses && idleSince_ != 0 && NowNs() - idleSince_ < kSpinNs) {
    spinMisses_ = 0;
  }
  // Rounds are bounded so that timers and other connections still get their turn.
  for (int round = 0;; round++) {
    sentInRound_ = false;
    if (!ReadAvailable()) return;
    if (round + 1 >= kMaxRounds || !SpinForMore()) break;
  }
  // In the middle of a large data segment from a peer too slow to spin for, wake up only once
  // the rest of it is here: one read per segment rather than one per arriving piece, each of
  // which takes the socket lock the sender's softirq holds (measured: a tenth of the CPU at
  // 256 KiB writes). A fast peer is spun for instead: its segment is copied while it arrives,
  // overlapping the sender (measured: 256 KiB writes ~15 % faster). Back to 1 after.
  if (state_ == State::Open) {
    const size_t missing = framer_.LargeMissing();
    const bool slowPeer = spinMisses_ >= kMaxSpinMisses;
    SetLowWater(missing > 1 && slowPeer ? static_cast<int>(std::min(missing, kMaxLowWater)) : 1);
  }
}

// Reads, frames and delivers what the socket holds. False when the connection failed or closed
// (nothing more to do); true otherwise, with drainedLast_ telling whether the socket ran dry.
bool Connection::ReadAvailable() {
  size_t total = 0;
  bool drained = false;
  while (state_ == State::Open && !paused_ && total < kMaxReadPerEvent) {
    if (framer_.NeedsDeliveryBeforeRead()) {
      Deliver();
      continue;
    }
    iovec iov[2];
    const int count = framer_.PrepareRead(iov);
    const size_t want = iov[0].iov_len + (count > 1 ? iov[1].iov_len : 0);
    const ssize_t n = ::readv(fd_, iov, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        drained = true;
        break;
      }
      const int err = errno;
      Deliver();
      Fail("ERR_TRANSPORT", Errno("read", err));
      return false;
    }
    if (n == 0) {
      Deliver();
      Close();
      return false;
    }
    total += static_cast<size_t>(n);
    if (!framer_.Consume(static_cast<size_t>(n))) {
      Deliver();
      Fail("ERR_PROTOCOL", framer_.Error());
      return false;
    }
    // A short read usually means the socket is drained; in the middle of a large data
    // segment more is likely on its way, so try again before going back to the loop.
    if (static_cast<size_t>(n) < want && !framer_.InLargePdu()) {
      drained = true;
      break;
    }
  }
  Deliver();
  drainedLast_ = drained;
  return true;
}

// At queue depth 1 the next command follows our response within tens of microseconds. Going
// back to epoll means sleeping and being woken again, which on a virtual machine costs more
// than the command itself (measured: the server 83% idle at 4 KiB commands). So after a round
// that sent a response, poll the socket for a short while before sleeping. Adaptive: after a
// few spins that found nothing, no more spinning until the peer is seen to answer quickly.
//
// The same holds inside a PDU: libiscsi sends a command's header and its immediate data in two
// writes, so the header often arrives alone and the data some microseconds later, and a large
// data segment arrives in pieces. Sleeping in between costs a wake-up each (measured: 4 KiB
// writes at half the rate of 4 KiB reads).
bool Connection::SpinForMore() {
  const bool awaited = sentInRound_ || framer_.HasPartial() || framer_.InLargePdu();
  if (!drainedLast_ || !awaited || state_ != State::Open || paused_ || !queue_.empty() ||
      spinMisses_ >= kMaxSpinMisses) {
    idleSince_ = NowNs();
    return false;
  }
  const uint64_t until = NowNs() + kSpinNs;
  pollfd p{fd_, POLLIN, 0};
  do {
    if (::poll(&p, 1, 0) > 0) {
      spinMisses_ = 0;
      return true;
    }
  } while (NowNs() < until);
  spinMisses_++;
  idleSince_ = NowNs();
  return false;
}

void Connection::SetLowWater(int bytes) {
  if (bytes == rcvLowat_) return;
  // Best effort: without it the segment is read piece by piece, as before.
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) == 0) rcvLowat_ = bytes;
}

void Connection::Deliver() {
  const std::vector<PduDesc>& descs = framer_.Descs();
  if (descs.empty()) return;
  if (onPdus_.IsEmpty()) {
    // setCallbacks was never called: nobody to deliver to.
    framer_.ClearBatch();
    Close();
    return;
  }
  bool usesBlock = false;
  for (const PduDesc& d : descs) usesBlock = usesBlock || d.source == 0;
  napi_value block = usesBlock ? framer_.Block()->Value(env_) : env_.Undefined();
  napi_value larges = env_.Undefined();
  const std::vector<JsBuf*>& bufs = framer_.Larges();
  if (!bufs.empty()) {
    Napi::Array arr = Napi::Array::New(env_, bufs.size());
    for (size_t i = 0; i < bufs.size(); i++) {
      arr.Set(static_cast<uint32_t>(i), bufs[i]->Value(env_));
    }
    larges = arr;
  }
  for (size_t start = 0; start < descs.size() && state_ < State::Closing; start += kMetaCapacity) {
    const size_t n = std::min<size_t>(kMetaCapacity, descs.size() - start);
    std::memcpy(metaData_, &descs[start], n * sizeof(PduDesc));
    Call(onPdus_, {Napi::Number::New(env_, static_cast<double>(n)), block, larges});
  }
  framer_.ClearBatch();
}

void Connection::OnWritable() {
  Flush();
  CheckDrain();
  MaybeShutdown();
  UpdatePoll();
}

void Connection::CheckDrain() {
  if (needDrain_ && queued_ <= kLowWater && state_ < State::Closing && loopDepth_ > 0) {
    needDrain_ = false;
    Call(onDrain_, {});
  }
}

void Connection::MaybeShutdown() {
  if (state_ != State::Ending || !queue_.empty()) return;
  // Everything queued is with the kernel: send our FIN, then wait (bounded) for the peer's.
  ::shutdown(fd_, SHUT_WR);
  state_ = State::ShutDown;
  uv_timer_start(&linger_, OnLinger, kLingerMs, 0);
}

void Connection::UpdatePoll() {
  ReportMemory();
  if (state_ >= State::Closing || !started_) return;
  int events = 0;
  if ((state_ == State::Open && !paused_) || state_ == State::Ending ||
      state_ == State::ShutDown) {
    events |= UV_READABLE;
  }
  if (!queue_.empty() || needDrain_) events |= UV_WRITABLE;
  if (events == pollEvents_) return;
  pollEvents_ = events;
  if (events == 0) {
    uv_poll_stop(&poll_);
  } else {
    uv_poll_start(&poll_, events, OnPoll);
  }
}

void Connection::Call(const Napi::FunctionReference& fn, std::initializer_list<napi_value> args) {
  if (fn.IsEmpty()) return;
  callbackDepth_++;
  CallFromLoop(env_, fn, Value(), args, *async_);
  callbackDepth_--;
  if (callbackDepth_ == 0) AfterCallbacks();
}

void Connection::AfterCallbacks() {
  if (state_ >= State::Closing) return;
  Flush();
  CheckDrain();
  MaybeShutdown();
  UpdatePoll();
}

void Connection::Fail(const char* code, const std::string& message) {
  if (state_ >= State::Closing) return;
  // After end() a reset or error is the peer's way of closing, not news for the owner.
  const bool report = state_ == State::Open;
  // Closing first: sends made inside onError are dropped, and nothing re-enters Fail.
  Close();
  if (report) Call(onError_, {Napi::String::New(env_, code), Napi::String::New(env_, message)});
}

void Connection::Close() {
  if (state_ >= State::Closing) return;
  state_ = State::Closing;
  ReleaseQueue();
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&linger_), OnHandleClosed);
}

void Connection::OnHandleClosed(uv_handle_t* handle) {
  auto* self = static_cast<Connection*>(handle->data);
  if (--self->handlesOpen_ > 0) return;
  // libuv no longer watches the descriptor, so it can be closed now.
  ::close(self->fd_);
  self->fd_ = -1;
  self->state_ = State::Closed;
  self->FromLoop([&] {
    self->Call(self->onClose_, {});
    self->onPdus_.Reset();
    self->onError_.Reset();
    self->onClose_.Reset();
    self->onDrain_.Reset();
  });
  self->Unref();
}

}  // namespace vtl
