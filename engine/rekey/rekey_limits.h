// Every RELAY_REKEY threshold in one place, with the reason for each number (protocol §6–§7,
// Tor proposal 262). Counts are cells processed by one hop under one set of keys, both
// directions together: a hop's forward and backward layers are keyed from the same aez_key, so
// the key's exposure is the sum of the two.
//
// The one number configuration cannot move is kMaxCellsPerKey. Everything else is a default that
// a relay operator may change in its rekey configuration (engine/rekey_config.h), which is
// refused at load time if it could let a key past that cap.
#ifndef RELAYCELL_ENGINE_REKEY_REKEY_LIMITS_H_
#define RELAYCELL_ENGINE_REKEY_REKEY_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace relaycell {

// AEZ v5's designers limit their security claims to 2^44 16-byte blocks per key. A 509-byte
// cell is 32 blocks for the cipher (31.8 rounded up) plus about 5 for AEZ-hash over the tweak
// (tau block, 10-byte nonce, 32-byte prev, 16-byte chain): ~37 blocks, so 2^44 blocks is about
// 2^38.8 cells (the spec rounds to "~2^39"). We stay a power of two below, so that no
// configuration ever sits at the edge of the claim: no key processes more than 2^38 cells,
// whatever the configuration says.
inline constexpr uint64_t kMaxCellsPerKey = uint64_t{1} << 38;

// Proposal 262 suggests the first rekey early, so that a circuit's handshake-derived key is
// replaced before much traffic depends on it (and a key compromised at setup buys little).
// 2^15 cells is 16 MiB of relay payload: most circuits that carry real traffic rekey once;
// short-lived circuits (a directory fetch, a small page) never pay for it.
inline constexpr uint64_t kDefaultFirstRekeyCells = uint64_t{1} << 15;

// After the first rekey, proposal 262's interval of 2^32 cells (about 2 TiB): orders of
// magnitude below the AEZ cap (2^38), so that a rekey is a rare, cheap event (one SHAKE256 and
// one key expansion per hop) and yet a long-lived circuit never runs near the limit.
inline constexpr uint64_t kDefaultRekeyIntervalCells = uint64_t{1} << 32;

// A relay counts cells it SENDS backward the moment it sends them; the client counts them when
// they arrive. When the client decides to rekey, up to a circuit window of backward cells
// (Tor's circuit-level SENDME window is 1000 cells) may be in flight that the relay has counted
// and the client has not. 2^12 = 4096 covers that window four times over, with room for the
// client's own scheduling delay, while adding nothing measurable to the key's exposure.
inline constexpr uint64_t kDefaultRekeySlackCells = uint64_t{1} << 12;

// A client must not make a relay derive keys for every cell (one SHAKE256 and one AES key
// schedule per REKEY: a cheap denial-of-service lever). 2^10 cells between switches keeps the
// rekey cost below 0.1% of the per-cell work even for an abusive client, and is far below
// kDefaultFirstRekeyCells so an honest client is never near it. 0 disables the check.
inline constexpr uint64_t kDefaultRekeyMinSpacingCells = uint64_t{1} << 10;

// Optional randomization (off by default so that clients are not told apart by their rekey
// points): each threshold minus a uniform draw in [0, threshold * 25 / 100].
inline constexpr uint64_t kRekeyRandomizeMaxPercent = 25;

// Method 1 (SHAKE256_CLIENT) carries exactly this much CSPRNG output.
inline constexpr size_t kRekeyDataBytes = 32;

// The REKEY body header: method u16.
inline constexpr size_t kRekeyMethodBytes = 2;

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_REKEY_REKEY_LIMITS_H_
