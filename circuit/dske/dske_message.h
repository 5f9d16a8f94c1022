// The DSKE wire format: one message per DSKE relay cell (relay command 29), in the cell's data
// (<= 498 bytes). All integers big-endian. Layouts, and why they are safe, in docs/dske.md.
//
//   PUT (A -> hub) and DELIVER (hub -> B), "share messages":
//     type u8 | key_id[16] | x u8 | k u8 | n u8 | fragment_count u8
//     | fragment_count x (block_id u64 | offset u32 | length u32)
//     | ciphertext_length u16 | ciphertext[ciphertext_length] | tag[16]
//   The MAC header is every byte before the ciphertext. The fragments name the sender's PSRD:
//   exactly ciphertext_length + 32 bytes (H | r | one-time pad).
//   FETCH (B -> hub):  type u8 | key_id[16]
//   ERROR (hub -> client): type u8 | key_id[16] | code u8   (never carries secret data)
//
// The parser is strict: one encoding per message (no trailing bytes, every count and length in
// range), so parse -> serialize gives back the same bytes, and it never reads past its input.
#ifndef RELAYCELL_CIRCUIT_DSKE_DSKE_MESSAGE_H_
#define RELAYCELL_CIRCUIT_DSKE_DSKE_MESSAGE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "engine/dske/psrd.h"
#include "engine/dske/psrd_link.h"
#include "engine/dske/wc_mac.h"

namespace relaycell::dske {

inline constexpr uint8_t kRelayCommandDske = 29;
inline constexpr size_t kMaxMessageBytes = 498;  // a relay cell's data
inline constexpr size_t kKeyIdBytes = 16;

enum class MessageType : uint8_t { kPut = 1, kFetch = 2, kDeliver = 3, kError = 4 };

// What a hub may tell a client. Codes only: nothing about keys, pads or shares.
enum class ErrorCode : uint8_t {
  kUnknownKey = 1,   // FETCH for a key id the hub holds no share of
  kBadTag = 2,       // a PUT failed its MAC (its pad range is burnt)
  kReplay = 3,       // a PUT named pad below the watermark
  kExhausted = 4,    // the hub's pool toward the client is used up
  kMalformed = 5,    // the message did not parse
  kUnavailable = 6,  // the hub cannot serve now (storage failure)
};

enum class ParseError {
  kOk = 0,
  kEmpty,
  kTooLong,  // more than 498 bytes
  kUnknownType,
  kTruncated,            // ends inside a field
  kTrailingBytes,        // bytes after the last field
  kBadShareParameters,   // not 1 <= x <= n, 2 <= k <= n
  kBadFragmentCount,     // not 1..4
  kBadFragment,          // a fragment of length 0
  kBadCiphertextLength,  // 0, or more than fits in one cell
  kPadLengthMismatch,    // fragments do not total ciphertext_length + 32
  kUnknownErrorCode,
};

const char* ParseErrorName(ParseError error);

using KeyId = std::array<uint8_t, kKeyIdBytes>;

struct Message {
  MessageType type = MessageType::kFetch;
  KeyId key_id{};
  // Share messages (PUT, DELIVER) only.
  uint8_t x = 0, k = 0, n = 0;
  psrd::Allocation pad;
  std::span<const uint8_t> ciphertext;  // points into the parsed bytes (or the caller's buffer)
  std::array<uint8_t, wc_mac::kTagBytes> tag{};
  // ERROR only.
  ErrorCode error = ErrorCode::kMalformed;
};

inline constexpr size_t ShareHeaderBytes(size_t fragment_count) { return 23 + 16 * fragment_count; }
// The largest ciphertext one cell carries with `fragment_count` pad fragments.
inline constexpr size_t MaxCiphertextBytes(size_t fragment_count) {
  return kMaxMessageBytes - ShareHeaderBytes(fragment_count) - wc_mac::kTagBytes;
}

// Parses one message; `out.ciphertext` points into `data`.
ParseError Parse(std::span<const uint8_t> data, Message& out);

// Checks what Parse checks, on a message built in memory.
ParseError Validate(const Message& message);

// Writes `message` to `out`; `written` gets its size. Fails (nothing meaningful written) if the
// message is invalid (Validate's error) or `out` is too small (kTooLong).
ParseError Serialize(const Message& message, std::span<uint8_t> out, size_t& written);

// Writes the MAC header of a share message (its bytes before the ciphertext); returns its size,
// 0 if `out` is too small.
size_t WriteShareHeader(const Message& message, std::span<uint8_t> out);

// --- Sealing share messages with PSRD (what A and a hub do on each link) -------------------

enum class SealError {
  kOk = 0,
  kBadArguments,  // share size 0 or too large for one cell, bad x/k/n
  kPsrd,          // the store refused (psrd_error says why: kExhausted, kReplay, ...)
  kBadTag,        // the MAC failed: dropped, its pad range burnt
  kMalformed,     // the bytes did not parse (parse_error says why)
};

struct SealStatus {
  SealError error = SealError::kOk;
  psrd::PsrdError psrd_error = psrd::PsrdError::kOk;
  ParseError parse_error = ParseError::kOk;
  bool ok() const { return error == SealError::kOk; }
};

// Builds a PUT (A -> hub) or DELIVER (hub -> B) of `share` under fresh PSRD from `pool` (owned
// by the sender): allocates (committed), encrypts, MACs, serializes into `out` (<= 498 bytes).
SealStatus SealShare(psrd::PsrdStore& store, std::string_view pool, MessageType type,
                     const KeyId& key_id, uint8_t x, uint8_t k, uint8_t n,
                     std::span<const uint8_t> share, std::span<uint8_t> out, size_t& written);

// Receives the bytes of a PUT or DELIVER: parses, consumes the named PSRD of `pool` (owned by
// the peer; a replay is refused), checks the tag, decrypts the share into `share` (exactly the
// ciphertext's size, at most MaxCiphertextBytes(1)) and reports `share_bytes`. `message` gets the
// parsed fields.
SealStatus OpenShare(psrd::PsrdStore& store, std::string_view pool, std::span<const uint8_t> data,
                     Message& message, std::span<uint8_t> share, size_t& share_bytes);

}  // namespace relaycell::dske

#endif  // RELAYCELL_CIRCUIT_DSKE_DSKE_MESSAGE_H_
