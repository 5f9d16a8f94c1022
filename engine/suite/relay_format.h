// Where a suite puts the relay header inside the 509 plaintext bytes, as data, so that circuit/
// parses and builds relay payloads of every suite with one code path and never names a suite.
//
//   aez  (prop 261):      zero_1 u32 | zero_2 u16 | stream_id u16 | length u16 | command u8 | data
//   tor1 (tor-spec):      command u8 | recognized u16 | stream_id u16 | digest u32 | length u16 | data
//   cgo  (Tor's relay message format v1): tag[16] | command u8 | length u16 | [stream_id u16] | data
//                         (the stream id only for the commands that carry one)
#ifndef RELAYCELL_ENGINE_SUITE_RELAY_FORMAT_H_
#define RELAYCELL_ENGINE_SUITE_RELAY_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/common/ct_check.h"

namespace relaycell {

inline constexpr size_t kCellBodyBytes = 509;

struct RelayFormat {
  uint8_t command_at;
  uint8_t length_at;
  uint8_t stream_id_at;
  uint8_t data_at;            // with a stream id
  uint8_t data_at_no_stream;  // without one (== data_at when every command carries one)
  // Bit c set: relay command c carries a stream id. ~0: every command has the field.
  uint64_t stream_id_commands;
  // The plaintext bytes [zero_begin, zero_end) are zero in every payload this format builds;
  // a payload recognized by its layer must show them zero too.
  uint8_t zero_begin, zero_end;
  // aez: length < 512 is part of the recognition redundancy (prop 261: 55 bits in all).
  bool length_below_512_recognizes;
  // The bytes [layer_begin, layer_end) belong to the layer, not the sender: a delivered
  // payload may differ from the one sent there (tor1's digest).
  uint8_t layer_begin, layer_end;

  // The mask covers commands 0..63; past them only a format where every command has the field.
  bool has_stream_id(uint8_t command) const {
    if (command >= 64) return stream_id_commands == ~uint64_t{0};
    return (stream_id_commands >> command & 1) != 0;
  }
  size_t data_offset(uint8_t command) const {
    return has_stream_id(command) ? data_at : data_at_no_stream;
  }
  size_t max_data(uint8_t command) const { return kCellBodyBytes - data_offset(command); }
  // The recognition redundancy: the zero fields (and the length's top bits) are zero. Branch-
  // free over the bytes: the verdict is public once the layer has run, the bytes may not be.
  bool RedundancyHolds(std::span<const uint8_t, kCellBodyBytes> payload) const {
    uint8_t acc = 0;
    for (size_t i = zero_begin; i < zero_end; ++i) acc |= payload[i];
    if (length_below_512_recognizes) acc |= payload[length_at] & 0xfe;
    bool holds = acc == 0;
    // Public by design: whether a cell is for this hop decides, in plain sight, whether it is
    // delivered or forwarded. Only the verdict, not the bytes it was computed from.
    RELAYCELL_CT_PUBLIC(&holds, sizeof holds);
    return holds;
  }
};

inline constexpr uint64_t kEveryCommandHasStreamId = ~uint64_t{0};

inline constexpr RelayFormat kAezRelayFormat{10, 8, 6,    11, 11, kEveryCommandHasStreamId,
                                             0,  6, true, 0,  0};
inline constexpr RelayFormat kTor1RelayFormat{0, 9, 3,     11, 11, kEveryCommandHasStreamId,
                                              1, 3, false, 5,  9};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_RELAY_FORMAT_H_
