// The send side of a Connection: the queue, digests, gathered writes, backpressure.
#include <errno.h>
#include <sys/socket.h>

#include <cstring>

#include "connection.h"
#include "crc32c.h"
#include "util.h"

namespace vtl {
namespace {

constexpr size_t kHighWater = 4 * 1024 * 1024;  // send() returns false above this
constexpr size_t kCopyLimit = 16 * 1024;  // data up to this size is copied, not referenced
constexpr int kMaxIov = 256;

bool IsBytes(Napi::Value v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
}
}  // namespace

Napi::Value Connection::Send(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !IsBytes(info[0])) {
    Napi::TypeError::New(env_, "send(header, data): header must be a Buffer")
        .ThrowAsJavaScriptException();
    return env_.Undefined();
  }
  const bool hasData = info.Length() >= 2 && !info[1].IsNull() && !info[1].IsUndefined();
  if (hasData && !IsBytes(info[1])) {
    Napi::TypeError::New(env_, "send(header, data): data must be a Buffer or null")
        .ThrowAsJavaScriptException();
    return env_.Undefined();
  }
  Napi::Uint8Array header = info[0].As<Napi::Uint8Array>();
  const size_t headLength = header.ByteLength();
  const uint8_t* head = header.Data();
  const uint8_t* data = nullptr;
  size_t dataLength = 0;
  Napi::Uint8Array dataArray;
  if (hasData) {
    dataArray = info[1].As<Napi::Uint8Array>();
    dataLength = dataArray.ByteLength();
    data = dataArray.Data();
  }
  if (headLength < kBhsLength || headLength != kBhsLength + size_t{head[4]} * 4 ||
      (size_t{head[5]} << 16 | size_t{head[6]} << 8 | head[7]) != dataLength) {
    Napi::RangeError::New(env_, "send: header is not BHS + AHS with DataSegmentLength = data length")
        .ThrowAsJavaScriptException();
    return env_.Undefined();
  }
  if (state_ != State::Open) return Napi::Boolean::New(env_, false);

  queue_.emplace_back();
  SendEntry& e = queue_.back();
  const uint32_t digestLength = headerDigest_ ? kDigestLength : 0;
  e.headLength = static_cast<uint32_t>(headLength + digestLength);
  uint8_t* h = e.head;
  if (e.headLength > sizeof e.head) {
    e.bigHead.reset(new uint8_t[e.headLength]);
    h = e.bigHead.get();
    ownedBytes_ += e.headLength;
  }
  std::memcpy(h, head, headLength);
  if (headerDigest_) PutLe32(h + headLength, Crc32c(0, head, headLength));
  if (dataLength > 0) {
    if (dataLength <= kCopyLimit) {
      e.ownedData.reset(new uint8_t[dataLength]);
      std::memcpy(e.ownedData.get(), data, dataLength);
      e.data = e.ownedData.get();
      ownedBytes_ += dataLength;
    } else {
      e.borrowed = true;
      e.data = data;
    }
    e.dataLength = dataLength;
    const size_t pad = Pad4(dataLength) - dataLength;
    std::memset(e.tail, 0, sizeof e.tail);
    e.tailLength = static_cast<uint32_t>(pad);
    if (dataDigest_) {
      // RFC 7143 13.1: the data digest covers the data segment and its padding.
      uint32_t crc = Crc32c(0, data, dataLength);
      if (pad > 0) crc = Crc32c(crc, e.tail, pad);
      PutLe32(e.tail + pad, crc);
      e.tailLength += kDigestLength;
    }
  }
  e.total = e.headLength + e.dataLength + e.tailLength;
  queued_ += e.total;
  const bool borrowed = e.borrowed;
  if (callbackDepth_ == 0 || borrowed) {
    // Large data goes out now, even inside a callback (after what is queued before it, so the
    // order holds): what the socket takes needs no copy; the rest is copied below.
    inSend_ = true;
    Flush();
    inSend_ = false;
    if (borrowed && !queue_.empty() && queue_.back().borrowed) {
      SendEntry& last = queue_.back();
      last.ownedData.reset(new uint8_t[last.dataLength]);
      std::memcpy(last.ownedData.get(), last.data, last.dataLength);
      last.data = last.ownedData.get();
      last.borrowed = false;
      ownedBytes_ += last.dataLength;
    }
    UpdatePoll();
  }
  if (queued_ > kHighWater) {
    needDrain_ = true;
    return Napi::Boolean::New(env_, false);
  }
  return Napi::Boolean::New(env_, true);
}

void Connection::Flush() {
  while (!queue_.empty() && state_ < State::Closing) {
    iovec iov[kMaxIov];
    int count = 0;
    size_t want = 0;
    for (const SendEntry& e : queue_) {
      if (count + 3 > kMaxIov) break;
      size_t skip = e.written;
      const uint8_t* pieces[3] = {e.headPtr(), e.data, e.tail};
      const size_t lengths[3] = {e.headLength, e.dataLength, e.tailLength};
      for (int i = 0; i < 3; i++) {
        if (skip >= lengths[i]) {
          skip -= lengths[i];
          continue;
        }
        iov[count].iov_base = const_cast<uint8_t*>(pieces[i] + skip);
        iov[count].iov_len = lengths[i] - skip;
        want += iov[count].iov_len;
        count++;
        skip = 0;
      }
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      const std::string err = Errno("write", errno);
      if (loopDepth_ > 0 && !inSend_) {
        Fail("ERR_TRANSPORT", err);
      } else if (deferredError_.empty()) {
        // Inside a JS call to send(): report from the loop rather than re-enter JS here.
        deferredError_ = err;
        uv_timer_start(&linger_, OnLinger, 0, 0);
      }
      return;
    }
    size_t left = static_cast<size_t>(n);
    queued_ -= left;
    if (n > 0) sentInRound_ = true;
    while (left > 0) {
      SendEntry& e = queue_.front();
      const size_t rest = e.total - e.written;
      if (left < rest) {
        e.written += left;
        break;
      }
      left -= rest;
      Forget(e);
      queue_.pop_front();
    }
    if (static_cast<size_t>(n) < want) return;
  }
}

Napi::Value Connection::Recycle(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !IsBytes(info[0])) {
    Napi::TypeError::New(env_, "recycle(data): data must be a Buffer").ThrowAsJavaScriptException();
    return env_.Undefined();
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value arrayBuffer;
  size_t byteOffset = 0;
  if (napi_get_typedarray_info(env_, info[0], &type, &length, &data, &arrayBuffer, &byteOffset) !=
      napi_ok) {
    return Napi::Boolean::New(env_, false);
  }
  void* base = nullptr;
  size_t byteLength = 0;
  if (napi_get_arraybuffer_info(env_, arrayBuffer, &base, &byteLength) != napi_ok) {
    return Napi::Boolean::New(env_, false);
  }
  return Napi::Boolean::New(env_, framer_.Recycle(static_cast<const uint8_t*>(base), byteLength));
}

void Connection::Forget(SendEntry& e) {
  if (e.ownedData) ownedBytes_ -= e.dataLength;
  if (e.bigHead) ownedBytes_ -= e.headLength;
}

void Connection::ReleaseQueue() {
  for (SendEntry& e : queue_) Forget(e);
  queue_.clear();
  queued_ = 0;
  ReportMemory();
}

void Connection::ReportMemory() {
  // Copies the send queue owns are C++ heap the GC cannot see; tell it, once per flush.
  if (ownedBytes_ == reportedBytes_) return;
  Napi::MemoryManagement::AdjustExternalMemory(
      env_, static_cast<int64_t>(ownedBytes_) - static_cast<int64_t>(reportedBytes_));
  reportedBytes_ = ownedBytes_;
}

}  // namespace vtl
