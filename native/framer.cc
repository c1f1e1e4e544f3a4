// Receive-side framing; see framer.h. Checks happen in the header stage, before any data
// segment is allocated (STYLE habit 4): header digest, then DataSegmentLength against our
// MaxRecvDataSegmentLength (RFC 7143 13.12).
#include "framer.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "crc32c.h"
#include "util.h"

namespace vtl {
namespace {

constexpr size_t kBlockSize = 512 * 1024;
// Below this much free space the block is replaced before the next read.
constexpr size_t kMinFree = 64 * 1024;
// A data segment at least this long that is not all in the block gets a buffer of its own, so
// the rest of it is read straight into place.
constexpr uint32_t kLargeThreshold = 64 * 1024;
// After a large PDU, more are likely (Data-Out after Data-Out): read little beyond it into the
// block, so that the start of the next one, copied out of the block, stays small.
constexpr size_t kReadAfterLarge = 8 * 1024;
// Large buffers handed back by JS are reused instead of allocating a new V8 buffer for every
// large PDU: each allocation counts as external memory, and V8 answers every 64 MiB of it with
// a full mark-compact (tens per second at 256 KiB writes, measured). Bounds on what is kept:
// per connection, whatever the negotiated segment size.
constexpr size_t kMaxLent = 8;  // delivered buffers remembered for Recycle (a burst of Data-Out)
constexpr size_t kMaxLentBytes = 8 << 20;
constexpr size_t kMaxFree = 4;  // recycled buffers kept for reuse
constexpr size_t kMaxFreeBytes = 4 << 20;

size_t Bytes(const std::vector<JsBuf*>& v) {
  size_t n = 0;
  for (const JsBuf* b : v) n += b->cap();
  return n;
}

}  // namespace

JsBuf* JsBuf::New(napi_env env, size_t cap) {
  void* data = nullptr;
  napi_value buf;
  if (napi_create_buffer(env, cap, &data, &buf) != napi_ok) return nullptr;
  napi_ref ref;
  if (napi_create_reference(env, buf, 1, &ref) != napi_ok) return nullptr;
  return new JsBuf(ref, static_cast<uint8_t*>(data), cap);
}

napi_value JsBuf::Value(napi_env env) {
  napi_value v = nullptr;
  napi_get_reference_value(env, ref_, &v);
  exposed_ = true;
  return v;
}

void JsBuf::Drop(napi_env env) {
  napi_delete_reference(env, ref_);
  delete this;
}

RecvFramer::RecvFramer(napi_env env) : env_(env) {}

RecvFramer::~RecvFramer() {
  ClearBatch();
  for (JsBuf* b : lent_) b->Drop(env_);
  for (JsBuf* b : free_) b->Drop(env_);
  if (largePending_) large_.buf->Drop(env_);
  if (block_ != nullptr) block_->Drop(env_);
}

void RecvFramer::SetDigests(bool header, bool data) {
  headerDigest_ = header;
  dataDigest_ = data;
}

bool RecvFramer::NeedsDeliveryBeforeRead() const {
  if (block_ == nullptr || block_->cap() - fill_ >= kMinFree) return false;
  for (const PduDesc& d : descs_) {
    if (d.source == 0) return true;
  }
  return false;
}

void RecvFramer::Roll() {
  const size_t partial = fill_ - parse_;
  if (block_ != nullptr && !block_->exposed()) {
    // JS never saw this block: keep it, moving the partial PDU to the front.
    std::memmove(block_->data(), block_->data() + parse_, partial);
  } else {
    JsBuf* next = JsBuf::New(env_, kBlockSize);
    if (next == nullptr) std::abort();  // V8 is out of memory: nothing sensible is left
    if (block_ != nullptr) {
      std::memcpy(next->data(), block_->data() + parse_, partial);
      block_->Drop(env_);
    }
    block_ = next;
  }
  parse_ = 0;
  fill_ = partial;
}

int RecvFramer::PrepareRead(iovec* iov) {
  if (block_ == nullptr || block_->cap() - fill_ < kMinFree) Roll();
  int n = 0;
  if (largePending_) {
    iov[n].iov_base = large_.buf->data() + large_.fill;
    iov[n].iov_len = large_.need - large_.fill;
    n++;
  }
  iov[n].iov_base = block_->data() + fill_;
  iov[n].iov_len = block_->cap() - fill_;
  if (lastWasLarge_ && iov[n].iov_len > kReadAfterLarge) iov[n].iov_len = kReadAfterLarge;
  return n + 1;
}

bool RecvFramer::Consume(size_t n) {
  if (largePending_) {
    const size_t take = std::min(n, large_.need - large_.fill);
    AdvanceLarge(take);
    n -= take;
  }
  fill_ += n;
  return FrameBlock();
}

void RecvFramer::AdvanceLarge(size_t n) {
  Large& l = large_;
  if (l.digest) {
    // Digest what just arrived while it is still in cache: the data and its padding only.
    const size_t end = l.headerLength + Pad4(l.dataLength);
    const size_t from = std::max(l.fill, l.headerLength);
    const size_t to = std::min(l.fill + n, end);
    if (to > from) l.crc = Crc32c(l.crc, l.buf->data() + from, to - from);
  }
  l.fill += n;
  if (l.fill < l.need) return;
  uint32_t flags = 0;
  if (l.digest) {
    const uint8_t* digest = l.buf->data() + l.headerLength + Pad4(l.dataLength);
    if (l.crc != Le32(digest)) flags |= kFlagDataDigestError;
  }
  larges_.push_back(l.buf);
  descs_.push_back(PduDesc{static_cast<uint32_t>(larges_.size()), 0, l.ahsLength,
                           static_cast<uint32_t>(l.headerLength), l.dataLength, flags});
  largePending_ = false;
  lastWasLarge_ = true;
  large_ = Large();
}

void RecvFramer::StartLarge(size_t headerLength, uint32_t ahsLength, uint32_t dataLength,
                            size_t total) {
  Large& l = large_;
  l.buf = TakeLarge(headerLength + total);
  l.need = headerLength + total;
  l.headerLength = headerLength;
  l.dataLength = dataLength;
  l.ahsLength = ahsLength;
  l.digest = pduDataDigest_;
  l.crc = 0;
  l.fill = 0;
  largePending_ = true;
  latched_ = false;
  const size_t have = fill_ - parse_;
  std::memcpy(l.buf->data(), block_->data() + parse_, have);
  parse_ = fill_;
  AdvanceLarge(have);
}

bool RecvFramer::FrameBlock() {
  while (parse_ < fill_ && !largePending_) {
    if (!latched_) {
      pduHeaderDigest_ = headerDigest_;
      pduDataDigest_ = dataDigest_;
      latched_ = true;
    }
    const size_t avail = fill_ - parse_;
    if (avail < kBhsLength) break;
    const uint8_t* h = block_->data() + parse_;
    const uint32_t ahsLength = uint32_t{h[4]} * 4;  // TotalAHSLength (RFC 7143 11.2.1.3)
    const size_t headerLength =
        kBhsLength + ahsLength + (pduHeaderDigest_ ? kDigestLength : 0);
    if (avail < headerLength) break;
    if (pduHeaderDigest_) {
      const uint32_t computed = Crc32c(0, h, kBhsLength + ahsLength);
      const uint32_t received = Le32(h + kBhsLength + ahsLength);
      if (computed != received) {
        char msg[96];
        std::snprintf(msg, sizeof msg, "header digest mismatch: computed 0x%08x, received 0x%08x",
                      computed, received);
        error_ = msg;
        return false;
      }
    }
    const uint32_t dataLength = uint32_t{h[5]} << 16 | uint32_t{h[6]} << 8 | h[7];
    if (dataLength > maxRecv_) {
      error_ = "data segment of " + std::to_string(dataLength) +
               " bytes exceeds MaxRecvDataSegmentLength " + std::to_string(maxRecv_);
      return false;
    }
    const uint32_t bhsOffset = static_cast<uint32_t>(parse_);
    lastWasLarge_ = false;
    if (dataLength == 0) {
      descs_.push_back(PduDesc{0, bhsOffset, ahsLength, 0, 0, 0});
      parse_ += headerLength;
      latched_ = false;
      continue;
    }
    const size_t padded = Pad4(dataLength);
    const size_t total = padded + (pduDataDigest_ ? kDigestLength : 0);
    if (avail >= headerLength + total) {
      const uint8_t* data = h + headerLength;
      uint32_t flags = 0;
      if (pduDataDigest_ && Crc32c(0, data, padded) != Le32(data + padded)) {
        flags |= kFlagDataDigestError;
      }
      descs_.push_back(PduDesc{0, bhsOffset, ahsLength,
                               static_cast<uint32_t>(parse_ + headerLength), dataLength, flags});
      parse_ += headerLength + total;
      latched_ = false;
      continue;
    }
    if (dataLength >= kLargeThreshold || parse_ + headerLength + total > block_->cap()) {
      StartLarge(headerLength, ahsLength, dataLength, total);
    }
    break;
  }
  return true;
}

JsBuf* RecvFramer::TakeLarge(size_t need) {
  for (size_t i = free_.size(); i-- > 0;) {
    JsBuf* b = free_[i];
    // Fits, and does not waste more than the request (a 16 MiB buffer for a 64 KiB PDU).
    if (b->cap() >= need && b->cap() <= 2 * need) {
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
      return b;
    }
  }
  JsBuf* b = JsBuf::New(env_, need);
  if (b == nullptr) std::abort();  // V8 is out of memory: nothing sensible is left
  return b;
}

void RecvFramer::ClearBatch() {
  for (JsBuf* b : larges_) {
    if (b->recycled) {
      b->recycled = false;
      Keep(b);
      continue;
    }
    // Only buffers of PDUs with large data segments are worth recycling; a short PDU that
    // merely straddled the block's end is dropped to the GC as before.
    if (b->cap() < kLargeThreshold) {
      b->Drop(env_);
      continue;
    }
    lent_.push_back(b);
    while (lent_.size() > kMaxLent || (lent_.size() > 1 && Bytes(lent_) > kMaxLentBytes)) {
      lent_.front()->Drop(env_);
      lent_.erase(lent_.begin());
    }
  }
  larges_.clear();
  descs_.clear();
}

bool RecvFramer::Recycle(const uint8_t* base, size_t byteLength) {
  // Lent and batch buffers are alive (held here), so a view with the same base pointer and
  // length is a view of that very buffer.
  for (JsBuf* b : larges_) {
    // Handed back from inside the onPdus call that delivers it (a command that completed at
    // once): kept when the batch is cleared.
    if (b->data() == base && byteLength == b->cap() && b->cap() >= kLargeThreshold) {
      b->recycled = true;
      return true;
    }
  }
  for (size_t i = 0; i < lent_.size(); i++) {
    JsBuf* b = lent_[i];
    if (b->data() != base || byteLength != b->cap()) continue;
    lent_.erase(lent_.begin() + static_cast<std::ptrdiff_t>(i));
    Keep(b);
    return true;
  }
  return false;
}

void RecvFramer::Keep(JsBuf* b) {
  if (free_.size() < kMaxFree && Bytes(free_) + b->cap() <= kMaxFreeBytes) {
    free_.push_back(b);
  } else {
    b->Drop(env_);
  }
}

}  // namespace vtl
