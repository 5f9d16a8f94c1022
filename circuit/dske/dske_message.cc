#include "circuit/dske/dske_message.h"

#include <sodium.h>

#include <cstring>

#include "engine/common/byte_io.h"

namespace relaycell::dske {
namespace {

using Reader = ByteReader;
using Writer = ByteWriter;

bool IsShareMessage(MessageType type) {
  return type == MessageType::kPut || type == MessageType::kDeliver;
}

bool KnownErrorCode(uint8_t code) { return code >= 1 && code <= 6; }

void WriteHeader(const Message& m, Writer& w) {
  w.BigEndian(static_cast<uint8_t>(m.type));
  w.Bytes(m.key_id);
  w.BigEndian(m.x);
  w.BigEndian(m.k);
  w.BigEndian(m.n);
  w.BigEndian(static_cast<uint8_t>(m.pad.count));
  for (const psrd::Fragment& f : m.pad.view()) {
    w.BigEndian(f.block_id);
    w.BigEndian(f.offset);
    w.BigEndian(f.length);
  }
  w.BigEndian(static_cast<uint16_t>(m.ciphertext.size()));
}

}  // namespace

const char* ParseErrorName(ParseError error) {
  switch (error) {
    case ParseError::kOk: return "ok";
    case ParseError::kEmpty: return "empty message";
    case ParseError::kTooLong: return "message longer than a cell's data";
    case ParseError::kUnknownType: return "unknown message type";
    case ParseError::kTruncated: return "truncated message";
    case ParseError::kTrailingBytes: return "trailing bytes";
    case ParseError::kBadShareParameters: return "bad x, k or n";
    case ParseError::kBadFragmentCount: return "bad fragment count";
    case ParseError::kBadFragment: return "empty pad fragment";
    case ParseError::kBadCiphertextLength: return "bad ciphertext length";
    case ParseError::kPadLengthMismatch: return "pad length does not match the ciphertext";
    case ParseError::kUnknownErrorCode: return "unknown error code";
  }
  return "unknown error";
}

ParseError Validate(const Message& m) {
  switch (m.type) {
    case MessageType::kFetch: return ParseError::kOk;
    case MessageType::kError:
      return KnownErrorCode(static_cast<uint8_t>(m.error)) ? ParseError::kOk
                                                           : ParseError::kUnknownErrorCode;
    case MessageType::kPut:
    case MessageType::kDeliver: break;
    default: return ParseError::kUnknownType;
  }
  if (m.k < 2 || m.n < m.k || m.x < 1 || m.x > m.n) return ParseError::kBadShareParameters;
  if (m.pad.count < 1 || m.pad.count > psrd::kMaxFragments) return ParseError::kBadFragmentCount;
  uint64_t pad_bytes = 0;
  for (const psrd::Fragment& f : m.pad.view()) {
    if (f.length == 0) return ParseError::kBadFragment;
    pad_bytes += f.length;  // <= 4 * 2^32: no overflow
  }
  if (m.ciphertext.empty() || m.ciphertext.size() > MaxCiphertextBytes(m.pad.count)) {
    return ParseError::kBadCiphertextLength;
  }
  if (pad_bytes != psrd::LinkPadBytes(m.ciphertext.size())) return ParseError::kPadLengthMismatch;
  return ParseError::kOk;
}

ParseError Parse(std::span<const uint8_t> data, Message& out) {
  out = Message{};
  if (data.empty()) return ParseError::kEmpty;
  if (data.size() > kMaxMessageBytes) return ParseError::kTooLong;
  Reader r(data);
  uint8_t type = 0;
  r.U8(type);
  if (type < 1 || type > 4) return ParseError::kUnknownType;
  out.type = static_cast<MessageType>(type);
  if (!r.Bytes(out.key_id)) return ParseError::kTruncated;
  if (out.type == MessageType::kError) {
    uint8_t code = 0;
    if (!r.U8(code)) return ParseError::kTruncated;
    if (!KnownErrorCode(code)) return ParseError::kUnknownErrorCode;
    out.error = static_cast<ErrorCode>(code);
  } else if (IsShareMessage(out.type)) {
    uint8_t count = 0;
    if (!r.U8(out.x) || !r.U8(out.k) || !r.U8(out.n) || !r.U8(count)) return ParseError::kTruncated;
    if (out.k < 2 || out.n < out.k || out.x < 1 || out.x > out.n) {
      return ParseError::kBadShareParameters;
    }
    if (count < 1 || count > psrd::kMaxFragments) return ParseError::kBadFragmentCount;
    out.pad.count = count;
    for (size_t i = 0; i < count; ++i) {
      psrd::Fragment& f = out.pad.fragments[i];
      if (!r.BigEndian(f.block_id) || !r.BigEndian(f.offset) || !r.BigEndian(f.length)) {
        return ParseError::kTruncated;
      }
    }
    uint16_t length = 0;
    if (!r.BigEndian(length)) return ParseError::kTruncated;
    if (length == 0 || length > MaxCiphertextBytes(count)) return ParseError::kBadCiphertextLength;
    if (!r.View(length, out.ciphertext) || !r.Bytes(out.tag)) return ParseError::kTruncated;
    if (ParseError e = Validate(out); e != ParseError::kOk) return e;
  }
  return r.left() == 0 ? ParseError::kOk : ParseError::kTrailingBytes;
}

size_t WriteShareHeader(const Message& message, std::span<uint8_t> out) {
  Writer w(out);
  WriteHeader(message, w);
  return w.ok() ? w.size() : 0;
}

ParseError Serialize(const Message& m, std::span<uint8_t> out, size_t& written) {
  written = 0;
  if (ParseError e = Validate(m); e != ParseError::kOk) return e;
  Writer w(out);
  if (IsShareMessage(m.type)) {
    WriteHeader(m, w);
    w.Bytes(m.ciphertext);
    w.Bytes(m.tag);
  } else {
    w.BigEndian(static_cast<uint8_t>(m.type));
    w.Bytes(m.key_id);
    if (m.type == MessageType::kError) w.BigEndian(static_cast<uint8_t>(m.error));
  }
  if (!w.ok()) return ParseError::kTooLong;
  written = w.size();
  return ParseError::kOk;
}

SealStatus SealShare(psrd::PsrdStore& store, std::string_view pool, MessageType type,
                     const KeyId& key_id, uint8_t x, uint8_t k, uint8_t n,
                     std::span<const uint8_t> share, std::span<uint8_t> out, size_t& written) {
  SealStatus status;
  written = 0;
  if (!IsShareMessage(type) || share.empty() ||
      share.size() > MaxCiphertextBytes(psrd::kMaxFragments) || k < 2 || n < k || x < 1 || x > n ||
      out.size() < kMaxMessageBytes) {
    status.error = SealError::kBadArguments;
    return status;
  }
  Message m;
  m.type = type;
  m.key_id = key_id;
  m.x = x;
  m.k = k;
  m.n = n;
  status.psrd_error = psrd::AllocateLinkPad(store, pool, share.size(), m.pad);
  if (status.psrd_error != psrd::PsrdError::kOk) {
    status.error = SealError::kPsrd;
    return status;
  }
  // The ciphertext goes straight to its place in `out`, after the header.
  const size_t header_bytes = ShareHeaderBytes(m.pad.count);
  const std::span<uint8_t> ciphertext = out.subspan(header_bytes, share.size());
  m.ciphertext = ciphertext;
  if (WriteShareHeader(m, out) != header_bytes) {
    status.error = SealError::kBadArguments;
    return status;
  }
  const psrd::LinkError link = psrd::SealLink(store, pool, m.pad, out.first(header_bytes), share,
                                              ciphertext, m.tag, status.psrd_error);
  if (link != psrd::LinkError::kOk) {
    status.error = link == psrd::LinkError::kPsrd ? SealError::kPsrd : SealError::kBadArguments;
    return status;
  }
  std::memcpy(out.data() + header_bytes + share.size(), m.tag.data(), m.tag.size());
  written = header_bytes + share.size() + m.tag.size();
  return status;
}

SealStatus OpenShare(psrd::PsrdStore& store, std::string_view pool, std::span<const uint8_t> data,
                     Message& message, std::span<uint8_t> share, size_t& share_bytes) {
  SealStatus status;
  share_bytes = 0;
  status.parse_error = Parse(data, message);
  if (status.parse_error == ParseError::kOk && !IsShareMessage(message.type)) {
    status.parse_error = ParseError::kUnknownType;
  }
  if (status.parse_error != ParseError::kOk) {
    status.error = SealError::kMalformed;
    return status;
  }
  const size_t n = message.ciphertext.size();
  if (share.size() < n) {
    status.error = SealError::kBadArguments;
    return status;
  }
  // The parse is canonical, so the received header bytes are the MAC header.
  const std::span<const uint8_t> header = data.first(ShareHeaderBytes(message.pad.count));
  const psrd::LinkError link =
      psrd::OpenLink(store, pool, message.pad.view(), header, message.ciphertext, message.tag,
                     share.first(n), status.psrd_error);
  switch (link) {
    case psrd::LinkError::kOk: share_bytes = n; return status;
    case psrd::LinkError::kBadTag: status.error = SealError::kBadTag; return status;
    case psrd::LinkError::kPsrd: status.error = SealError::kPsrd; return status;
    default: status.error = SealError::kBadArguments; return status;
  }
}

}  // namespace relaycell::dske
