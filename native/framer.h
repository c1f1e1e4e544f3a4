// Receive-side iSCSI framing in C++ (RFC 7143 11.2), the same rules and error texts as
// src/target/transport/framer.ts. Bytes are read straight into a receive block (small PDUs are
// handed to JS as views of it) or, for a data segment that is not all there yet and is large,
// into a buffer of its own, so no PDU is copied on its way to JS beyond that first partial read.
#pragma once

#include <node_api.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vtl {

constexpr size_t kBhsLength = 48;
constexpr size_t kDigestLength = 4;
constexpr uint32_t kDefaultMaxRecv = 8192;  // RFC 7143 13.12 default MaxRecvDataSegmentLength

// A Node Buffer the framer reads into, held by a strong reference while C++ may still write
// to it. Its memory belongs to V8, which accounts for it per generation: a buffer JS drops soon
// is reclaimed by a scavenge. (Memory reported with napi_adjust_external_memory instead made V8
// run a full mark-compact every few MiB: 25 per second at 700 MB/s, measured.)
class JsBuf {
 public:
  // Null when V8 cannot allocate.
  static JsBuf* New(napi_env env, size_t cap);
  uint8_t* data() const { return data_; }
  size_t cap() const { return cap_; }
  napi_value Value(napi_env env);
  // True once JS has had the buffer: its bytes may be referenced from then on.
  bool exposed() const { return exposed_; }
  // Drops C++'s reference; JS views keep the memory alive as long as they need it.
  void Drop(napi_env env);
  // JS handed it back while its batch was still being delivered: reuse it after the batch.
  bool recycled = false;

 private:
  JsBuf(napi_ref ref, uint8_t* data, size_t cap) : ref_(ref), data_(data), cap_(cap) {}
  napi_ref ref_;
  uint8_t* data_;
  size_t cap_;
  bool exposed_ = false;
};

// One framed PDU: where its bytes are. source 0 is the batch's block, k + 1 is Larges()[k].
struct PduDesc {
  uint32_t source;
  uint32_t bhsOffset;
  uint32_t ahsLength;
  uint32_t dataOffset;
  uint32_t dataLength;
  uint32_t flags;  // bit 0: data digest mismatch
};
constexpr uint32_t kMetaFields = sizeof(PduDesc) / sizeof(uint32_t);
constexpr uint32_t kFlagDataDigestError = 1;

class RecvFramer {
 public:
  explicit RecvFramer(napi_env env);
  ~RecvFramer();
  RecvFramer(const RecvFramer&) = delete;
  RecvFramer& operator=(const RecvFramer&) = delete;

  void SetDigests(bool header, bool data);
  void SetMaxRecv(uint32_t bytes) { maxRecv_ = bytes; }

  // True when the block must be replaced before the next read while PDUs of the pending batch
  // still point into it: deliver the batch first.
  bool NeedsDeliveryBeforeRead() const;
  // Fills up to two iovecs for the next read (the rest of a large PDU, then the block's free
  // space) and returns how many.
  int PrepareRead(iovec* iov);
  // Frames `n` bytes just read into those iovecs. False on a fatal framing error (Error()).
  bool Consume(size_t n);
  const std::string& Error() const { return error_; }
  // True while a large data segment is being read into its own buffer.
  bool InLargePdu() const { return largePending_; }
  // Bytes still missing from the large PDU being read (0 outside one).
  size_t LargeMissing() const { return largePending_ ? large_.need - large_.fill : 0; }
  // True while the block holds the start of a PDU whose rest has not arrived yet.
  bool HasPartial() const { return fill_ > parse_; }

  const std::vector<PduDesc>& Descs() const { return descs_; }
  const std::vector<JsBuf*>& Larges() const { return larges_; }
  JsBuf* Block() const { return block_; }
  // Forgets the delivered batch. Its large buffers are kept (strongly, a bounded number) as
  // lent, so that JS can hand them back with Recycle once it no longer uses them.
  void ClearBatch();
  // JS is done with the data segment `data` points into (a view of a lent large buffer): the
  // buffer may be filled again by a later PDU. False when `base` is not a buffer lent here.
  bool Recycle(const uint8_t* base, size_t byteLength);

 private:
  struct Large {
    JsBuf* buf = nullptr;
    size_t need = 0;  // header + data + padding + digest
    size_t fill = 0;
    size_t headerLength = 0;
    uint32_t dataLength = 0;
    uint32_t ahsLength = 0;
    bool digest = false;
    uint32_t crc = 0;  // running data digest over what has arrived
  };

  bool FrameBlock();
  void StartLarge(size_t headerLength, uint32_t ahsLength, uint32_t dataLength, size_t total);
  void AdvanceLarge(size_t n);
  void Roll();
  // A buffer for a large PDU of `need` bytes: a recycled one when one fits, else a new one.
  JsBuf* TakeLarge(size_t need);
  // Puts a recycled buffer on the free list, or drops it when the list is full.
  void Keep(JsBuf* b);

  napi_env env_;
  bool headerDigest_ = false;
  bool dataDigest_ = false;
  bool latched_ = false;  // digest settings are latched at a PDU's first byte
  bool pduHeaderDigest_ = false;
  bool pduDataDigest_ = false;
  uint32_t maxRecv_ = kDefaultMaxRecv;
  JsBuf* block_ = nullptr;
  size_t parse_ = 0;  // first unframed byte in the block
  size_t fill_ = 0;   // end of the bytes read into the block
  Large large_;
  bool largePending_ = false;
  bool lastWasLarge_ = false;  // the last PDU completed went through a large buffer
  std::vector<PduDesc> descs_;
  std::vector<JsBuf*> larges_;
  std::vector<JsBuf*> lent_;  // delivered large buffers JS may recycle, oldest first
  std::vector<JsBuf*> free_;  // recycled large buffers ready for reuse
  std::string error_;
};

}  // namespace vtl
