// The RELAY_REKEY body (protocol §6, Tor proposal 262): `method u16 | rekey_data[]`, carried
// as the data of a RELAY cell with relay_command REKEY (28), stream_id 0 and
// length = 2 + len(rekey_data).
//   method 1 SHAKE256_CLIENT: exactly 32 bytes of CSPRNG output; new keys for the hop are
//            SHAKE256(aez_key || rekey_data) (engine/kdf.h DeriveRekeyKeys).
//   method 0 ACK: no rekey_data; the relay's answer, sent under the old keys.
// Parsing checks what every receiver checks; which side may receive which method is the state
// machine's business (engine/rekey_state.h).
#ifndef RELAYCELL_ENGINE_REKEY_REKEY_MESSAGE_H_
#define RELAYCELL_ENGINE_REKEY_REKEY_MESSAGE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/rekey/rekey_error.h"
#include "engine/rekey/rekey_limits.h"

namespace relaycell {

inline constexpr uint8_t kRelayCommandRekey = 28;
inline constexpr uint16_t kRekeyStreamId = 0;
inline constexpr size_t kRekeyBodyMaxBytes = kRekeyMethodBytes + kRekeyDataBytes;

enum class RekeyMethod : uint16_t {
  kAck = 0,
  kShake256Client = 1,
};

// One REKEY body. The rekey_data of method 1 is key material (with the old aez_key it makes the
// new keys): it is wiped on destruction and whenever the body is reset. Not copyable, so it is
// never duplicated by accident; fill one in place.
class RekeyBody {
 public:
  RekeyBody() = default;  // an ACK
  ~RekeyBody();
  RekeyBody(const RekeyBody&) = delete;
  RekeyBody& operator=(const RekeyBody&) = delete;

  // Method 0, no data.
  void SetAck();
  // Method 1 with 32 fresh bytes from libsodium's CSPRNG: what a client sends.
  void SetFreshShake256Client();
  // Method 1 with the given bytes (known answers, tests).
  void SetShake256Client(std::span<const uint8_t, kRekeyDataBytes> rekey_data);

  RekeyMethod method() const { return method_; }
  // The 32 bytes of method 1; all zero for an ACK.
  std::span<const uint8_t, kRekeyDataBytes> rekey_data() const { return rekey_data_; }
  // The relay header's `length` for this body: 2 or 34.
  size_t encoded_length() const;

 private:
  RekeyMethod method_ = RekeyMethod::kAck;
  std::array<uint8_t, kRekeyDataBytes> rekey_data_{};
};

// Parses the first `length` bytes of a recognized REKEY cell's data (`data` is exactly those
// bytes). On any error `out` is left an ACK with zeroed data: a malformed body never carries
// key material further.
[[nodiscard]] RekeyError ParseRekeyBody(uint16_t stream_id, std::span<const uint8_t> data,
                                        RekeyBody& out);

// Writes `body` at the start of `out` (a relay cell's data field) and returns the length to put
// in the relay header; 0 if `out` is too small (nothing is written then).
[[nodiscard]] size_t BuildRekeyBody(const RekeyBody& body, std::span<uint8_t> out);

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_REKEY_REKEY_MESSAGE_H_
