#include "engine/rekey/rekey_message.h"

#include <sodium.h>

#include <algorithm>
#include "engine/common/byte_io.h"

namespace relaycell {

RekeyBody::~RekeyBody() { sodium_memzero(rekey_data_.data(), rekey_data_.size()); }

void RekeyBody::SetAck() {
  method_ = RekeyMethod::kAck;
  sodium_memzero(rekey_data_.data(), rekey_data_.size());
}

void RekeyBody::SetFreshShake256Client() {
  method_ = RekeyMethod::kShake256Client;
  randombytes_buf(rekey_data_.data(), rekey_data_.size());
}

void RekeyBody::SetShake256Client(std::span<const uint8_t, kRekeyDataBytes> rekey_data) {
  method_ = RekeyMethod::kShake256Client;
  std::copy(rekey_data.begin(), rekey_data.end(), rekey_data_.begin());
}

size_t RekeyBody::encoded_length() const {
  return method_ == RekeyMethod::kShake256Client ? kRekeyBodyMaxBytes : kRekeyMethodBytes;
}

RekeyError ParseRekeyBody(uint16_t stream_id, std::span<const uint8_t> data, RekeyBody& out) {
  out.SetAck();
  if (stream_id != kRekeyStreamId) return RekeyError::kNonZeroStreamId;
  ByteReader r(data);
  uint16_t method = 0;
  std::span<const uint8_t> rekey_data;
  if (!r.BigEndian(method)) return RekeyError::kTruncatedBody;
  r.View(r.left(), rekey_data);
  switch (method) {
    case static_cast<uint16_t>(RekeyMethod::kAck):
      return rekey_data.empty() ? RekeyError::kNone : RekeyError::kAckWithData;
    case static_cast<uint16_t>(RekeyMethod::kShake256Client):
      if (rekey_data.size() != kRekeyDataBytes) return RekeyError::kBadRekeyDataLength;
      out.SetShake256Client(rekey_data.first<kRekeyDataBytes>());
      return RekeyError::kNone;
    default: return RekeyError::kUnknownMethod;
  }
}

size_t BuildRekeyBody(const RekeyBody& body, std::span<uint8_t> out) {
  const size_t length = body.encoded_length();
  if (out.size() < length) return 0;
  ByteWriter w(out);
  w.BigEndian(static_cast<uint16_t>(body.method()));
  if (body.method() == RekeyMethod::kShake256Client) w.Bytes(body.rekey_data());
  return w.ok() ? length : 0;
}

}  // namespace relaycell
