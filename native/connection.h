// One accepted iSCSI connection: a non-blocking socket polled on Node's libuv loop, framing
// PDUs in C++ (framer.h) and handing them to JS in batches, and a send queue written with
// gathered writes (header, header digest, data, padding + data digest as separate iovecs).
#pragma once

#include <napi.h>
#include <uv.h>

#include <deque>
#include <memory>
#include <string>

#include "framer.h"

namespace vtl {

class Connection : public Napi::ObjectWrap<Connection> {
 public:
  static const napi_type_tag kTypeTag;
  static constexpr const char* kClassName = "Connection";
  static Napi::Function Define(Napi::Env env);
  // Wraps an accepted socket; only the listener calls this.
  static Napi::Object Create(Napi::Env env, int fd);
  static Connection* FromObject(Napi::Object obj);
  explicit Connection(const Napi::CallbackInfo& info);
  ~Connection() override;
  // Starts polling once the listener's onConnection has returned.
  void Start();

 private:
  struct SendEntry {
    uint8_t head[64];  // BHS + header digest fit inline; a header with AHS goes to bigHead
    std::unique_ptr<uint8_t[]> bigHead;
    uint32_t headLength = 0;
    const uint8_t* data = nullptr;
    size_t dataLength = 0;
    // Large data points into the caller's buffer only during send(); what is not written by
    // the time send() returns is copied here, so JS may reuse its buffer at once.
    bool borrowed = false;
    std::unique_ptr<uint8_t[]> ownedData;  // small data is copied at once
    uint8_t tail[8];  // padding and data digest
    uint32_t tailLength = 0;
    size_t total = 0;
    size_t written = 0;
    const uint8_t* headPtr() const { return bigHead ? bigHead.get() : head; }
  };
  enum class State { Open, Ending, ShutDown, Closing, Closed };

  Napi::Value SetCallbacks(const Napi::CallbackInfo& info);
  Napi::Value Meta(const Napi::CallbackInfo& info);
  Napi::Value SetDigests(const Napi::CallbackInfo& info);
  Napi::Value SetMaxRecv(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Recycle(const Napi::CallbackInfo& info);
  Napi::Value WritableLength(const Napi::CallbackInfo& info);
  Napi::Value Pause(const Napi::CallbackInfo& info);
  Napi::Value Resume(const Napi::CallbackInfo& info);
  Napi::Value End(const Napi::CallbackInfo& info);
  Napi::Value Destroy(const Napi::CallbackInfo& info);

  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnLinger(uv_timer_t* handle);
  static void OnHandleClosed(uv_handle_t* handle);
  // Work done from a libuv callback, with a handle scope and sends flushed afterwards.
  template <typename F>
  void FromLoop(F&& work);
  void OnReadable();
  bool ReadAvailable();
  bool SpinForMore();
  void OnWritable();
  void Deliver();
  void Flush();
  void UpdatePoll();
  void SetLowWater(int bytes);
  void Fail(const char* code, const std::string& message);
  void Close();
  void MaybeShutdown();
  void ReleaseQueue();
  void Forget(SendEntry& e);
  void ReportMemory();
  // Calls a JS callback; sends made inside it are flushed together once it returns.
  void Call(const Napi::FunctionReference& fn, std::initializer_list<napi_value> args);
  void AfterCallbacks();
  void CheckDrain();

  Napi::Env env_;
  int fd_ = -1;
  State state_ = State::Open;
  bool started_ = false;
  bool paused_ = false;
  bool needDrain_ = false;
  int callbackDepth_ = 0;
  int loopDepth_ = 0;  // > 0 inside a libuv callback, where JS may be called
  bool inSend_ = false;
  int rcvLowat_ = 1;  // SO_RCVLOWAT in force
  bool drainedLast_ = false;  // the last ReadAvailable left the socket empty
  bool sentInRound_ = false;  // bytes went out since the last read round began
  int spinMisses_ = 0;        // SpinForMore calls in a row that found nothing
  uint64_t idleSince_ = 0;    // when we last went back to epoll (ns, CLOCK_MONOTONIC)  // inside send(): a write error is reported later, from the loop
  std::string deferredError_;  // a write error met inside a JS call, reported from the loop
  int handlesOpen_ = 0;
  bool headerDigest_ = false;
  bool dataDigest_ = false;
  uv_poll_t poll_;
  uv_timer_t linger_;
  int pollEvents_ = 0;
  RecvFramer framer_;
  std::deque<SendEntry> queue_;
  size_t queued_ = 0;
  size_t ownedBytes_ = 0;     // bytes the queue copied (small data, long headers)
  size_t reportedBytes_ = 0;  // of those, what the GC has been told
  Napi::FunctionReference onPdus_, onError_, onClose_, onDrain_;
  Napi::Reference<Napi::Uint32Array> meta_;
  uint32_t* metaData_ = nullptr;
  std::unique_ptr<Napi::AsyncContext> async_;
};

}  // namespace vtl
