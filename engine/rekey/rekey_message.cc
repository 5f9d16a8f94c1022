#include "engine/rekey/rekey_message.h"

#include <sodium.h>

#include <algorithm>

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
  if (data.size() < kRekeyMethodBytes) return RekeyError::kTruncatedBody;
  const uint16_t method = static_cast<uint16_t>(data[0] << 8 | data[1]);
  const std::span<const uint8_t> rekey_data = data.subspan(kRekeyMethodBytes);
  switch (method) {
    case static_cast<uint16_t>(RekeyMethod::kAck):
      return rekey_data.empty() ? RekeyError::kNone : RekeyError::kAckWithData;
    case static_cast<uint16_t>(RekeyMethod::kShake256Client):
      if (rekey_data.size() != kRekeyDataBytes) return RekeyError::kBadRekeyDataLength;
      out.SetShake256Client(rekey_data.first<kRekeyDataBytes>());
      return RekeyError::kNone;
    default:
      return RekeyError::kUnknownMethod;
  }
}

size_t BuildRekeyBody(const RekeyBody& body, std::span<uint8_t> out) {
  const size_t length = body.encoded_length();
  if (out.size() < length) return 0;
  const auto method = static_cast<uint16_t>(body.method());
  out[0] = static_cast<uint8_t>(method >> 8);
  out[1] = static_cast<uint8_t>(method);
  if (body.method() == RekeyMethod::kShake256Client) {
    std::copy(body.rekey_data().begin(), body.rekey_data().end(), out.begin() + kRekeyMethodBytes);
  }
  return length;
}

}  // namespace relaycell
