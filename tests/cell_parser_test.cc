// Cell and relay-header parsing (protocol §1-§2), the chain step's AES-256, and the aez
// layer's prepare/finish split.
#include <array>
#include <cstring>

#include <gtest/gtest.h>

#include "circuit/cell.h"
#include "circuit/relay_header.h"
#include "engine/suite/aes256_chain.h"
#include "engine/suite/aez_layer.h"
#include "engine/suite/cgo/cgo_suite.h"
#include "kernels/aez_core_rounds.h"
#include "kernels/path_choice.h"
#include "hwy/targets.h"

namespace relaycell {
namespace {

using Cell = std::array<uint8_t, kCellBytes>;

TEST(ParseCell, KnownCommandsAndCircIds) {
  Cell cell{};
  WriteCellHeader(0x01020304, CellCommand::kRelay, cell);
  ParsedCell p = ParseCell(cell);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.header.circ_id, 0x01020304u);
  EXPECT_EQ(p.header.command, CellCommand::kRelay);

  for (int command = 0; command < 256; ++command) {
    cell[4] = uint8_t(command);
    p = ParseCell(cell);
    const bool known = command == 0 || command == 3 || command == 4 || command == 9 ||
                       command == 10 || command == 11;
    if (!known) {
      EXPECT_EQ(p.error, ProtocolError::kUnknownCellCommand) << command;
    } else if (command != 4) {
      EXPECT_TRUE(p.ok()) << command;
    }
  }
  WriteCellHeader(0, CellCommand::kRelay, cell);
  EXPECT_EQ(ParseCell(cell).error, ProtocolError::kZeroCircId);
  WriteCellHeader(0, CellCommand::kPadding, cell);
  EXPECT_TRUE(ParseCell(cell).ok());  // PADDING is link-level
}

TEST(ParseCell, DestroyReasonsAndPadding) {
  Cell cell{};
  for (int reason = 0; reason < 256; ++reason) {
    BuildDestroyCell(9, DestroyReason(reason), cell);
    const ParsedCell p = ParseCell(cell);
    if (IsKnownDestroyReason(uint8_t(reason))) {
      ASSERT_TRUE(p.ok()) << reason;
      EXPECT_EQ(uint8_t(p.header.destroy_reason), reason);
    } else {
      EXPECT_EQ(p.error, ProtocolError::kBadDestroyPayload) << reason;
    }
  }
  BuildDestroyCell(9, DestroyReason::kFinished, cell);
  cell[kCellBytes - 1] = 1;
  EXPECT_EQ(ParseCell(cell).error, ProtocolError::kBadDestroyPayload);
}

TEST(RelayHeader, AezLayoutRecognitionAndLimits) {
  std::array<uint8_t, kCellBodyBytes> payload{};
  const uint8_t data[3] = {7, 8, 9};
  ASSERT_TRUE(BuildRelayPayload(kAezRelayFormat, {RelayCommand::kEnd, 0x1234, 3}, data, payload));
  EXPECT_EQ(payload[6], 0x12);
  EXPECT_EQ(payload[7], 0x34);
  EXPECT_EQ(payload[9], 3);
  EXPECT_EQ(payload[10], 3);
  ParsedRelay r = ParseRelayPayload(kAezRelayFormat, payload);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.header.command, RelayCommand::kEnd);
  EXPECT_EQ(r.header.stream_id, 0x1234);
  ASSERT_EQ(r.data.size(), 3u);
  EXPECT_EQ(r.data[2], 9);
  // Each recognition byte, and the top 7 bits of length, breaks recognition.
  for (size_t byte : {0, 1, 2, 3, 4, 5}) {
    auto bad = payload;
    bad[byte] = 0x40;
    EXPECT_EQ(ParseRelayPayload(kAezRelayFormat, bad).error, ProtocolError::kUnrecognized);
    EXPECT_FALSE(AezCellRecognized(bad));
  }
  auto bad = payload;
  bad[8] = 0x02;  // length 512 + 3: length >> 9 != 0
  EXPECT_EQ(ParseRelayPayload(kAezRelayFormat, bad).error, ProtocolError::kUnrecognized);
  bad = payload;
  bad[8] = 0x01;
  bad[9] = 0xf3;  // 499: recognized, too long
  EXPECT_EQ(ParseRelayPayload(kAezRelayFormat, bad).error, ProtocolError::kRelayLengthTooLong);
  bad[9] = 0xf2;  // 498: fine
  EXPECT_TRUE(ParseRelayPayload(kAezRelayFormat, bad).ok());
  bad = payload;
  bad[10] = 27;
  EXPECT_EQ(ParseRelayPayload(kAezRelayFormat, bad).error, ProtocolError::kUnknownRelayCommand);
  std::vector<uint8_t> too_long(499);
  EXPECT_FALSE(
      BuildRelayPayload(kAezRelayFormat, {RelayCommand::kData, 1, 499}, too_long, payload));
}

TEST(RelayHeader, Tor1Layout) {
  std::array<uint8_t, kCellBodyBytes> payload{};
  const uint8_t data[2] = {1, 2};
  ASSERT_TRUE(BuildRelayPayload(kTor1RelayFormat, {RelayCommand::kData, 0x0102, 2}, data, payload));
  EXPECT_EQ(payload[0], 2);  // relay_command
  EXPECT_EQ(payload[3], 1);  // stream_id
  EXPECT_EQ(payload[4], 2);
  EXPECT_EQ(payload[10], 2);  // length
  EXPECT_EQ(payload[11], 1);  // data
  payload[5] = 0xde;          // the digest is the layer's business
  ParsedRelay r = ParseRelayPayload(kTor1RelayFormat, payload);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.header.stream_id, 0x0102);
  payload[2] = 1;
  EXPECT_EQ(ParseRelayPayload(kTor1RelayFormat, payload).error, ProtocolError::kUnrecognized);
}

TEST(RelayFormat, StreamIdFieldForEveryCommandNumber) {
  // aez and tor1 carry the field in every payload, whatever the command, 64..255 included.
  for (int command = 0; command < 256; ++command) {
    EXPECT_TRUE(kAezRelayFormat.has_stream_id(uint8_t(command))) << command;
    EXPECT_TRUE(kTor1RelayFormat.has_stream_id(uint8_t(command))) << command;
  }
  // cgo's format v1 only for the commands that name a stream.
  EXPECT_TRUE(kCgoRelayFormat.has_stream_id(uint8_t(RelayCommand::kBegin)));
  EXPECT_TRUE(kCgoRelayFormat.has_stream_id(uint8_t(RelayCommand::kDske)));
  EXPECT_FALSE(kCgoRelayFormat.has_stream_id(uint8_t(RelayCommand::kExtend2)));
  EXPECT_FALSE(kCgoRelayFormat.has_stream_id(200));
  EXPECT_EQ(kCgoRelayFormat.data_offset(200), kCgoRelayFormat.data_at_no_stream);
}

TEST(Aes256Chain, Fips197AppendixC3) {
  uint8_t key[32], pt[16], ct[16];
  for (int i = 0; i < 32; ++i) key[i] = uint8_t(i);
  for (int i = 0; i < 16; ++i) pt[i] = uint8_t(i * 0x11);
  const uint8_t expect[16] = {0x8e, 0xa2, 0xb7, 0xca, 0x51, 0x67, 0x45, 0xbf,
                              0xea, 0xfc, 0x49, 0x90, 0x4b, 0x49, 0x60, 0x89};
  Aes256Chain aes(key);
  aes.EncryptBlock(pt, ct);
  EXPECT_EQ(0, std::memcmp(ct, expect, 16));
  uint8_t chain[16];
  std::memcpy(chain, pt, 16);
  aes.Step(chain);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(chain[i], uint8_t(expect[i] ^ pt[i]));
}

// Prepare + an external AezEncipher + Finish is exactly Encipher (what a batch relies on).
TEST(AezCellDirection, PrepareFinishEqualsWholeCell) {
  uint8_t aez_key[48], chain_key[32], chain[16];
  for (int i = 0; i < 48; ++i) aez_key[i] = uint8_t(i * 3);
  for (int i = 0; i < 32; ++i) chain_key[i] = uint8_t(i * 5);
  for (int i = 0; i < 16; ++i) chain[i] = uint8_t(i * 7);
  AezCellDirection whole(true, aez_key, chain_key, chain);
  AezCellDirection split(true, aez_key, chain_key, chain);
  for (int cell = 0; cell < 5; ++cell) {
    std::array<uint8_t, kCellBodyBytes> a{}, b{};
    for (size_t i = 0; i < a.size(); ++i) a[i] = b[i] = uint8_t(i * cell + 1);
    whole.Encipher(a, cell == 0);
    alignas(16) uint8_t delta[16];
    split.Prepare(cell == 0, delta);
    uint8_t head[32];
    std::memcpy(head, b.data(), 32);
    ASSERT_TRUE(AezEncipher(split.key(), delta, b, b));
    split.Finish(head, std::span<const uint8_t, 32>(b.data(), 32));
    EXPECT_EQ(a, b) << cell;
  }
  EXPECT_EQ(whole.cell_number(), 5u);
  // Installing new keys changes the next cell but keeps cell_number.
  uint8_t other[48] = {1};
  split.InstallKeys(other, chain_key, chain);
  EXPECT_EQ(split.cell_number(), 5u);
  std::array<uint8_t, kCellBodyBytes> a{}, b{};
  whole.Encipher(a, false);
  split.Encipher(b, false);
  EXPECT_NE(a, b);
}

// A direction whose whole cells compute Δ inside the kernel (where the active paths can) and one
// that computes it ahead (the hash path forced to Highway's SSE4) give the same cells, also when
// cells through Prepare/Finish (a batch's way) and RELAY_EARLY cells come between.
TEST(AezCellDirection, DeltaInsideTheKernelEqualsDeltaAhead) {
  uint8_t aez_key[48], chain_key[32], chain[16];
  for (int i = 0; i < 48; ++i) aez_key[i] = uint8_t(i * 11 + 1);
  for (int i = 0; i < 32; ++i) chain_key[i] = uint8_t(i * 13 + 2);
  for (int i = 0; i < 16; ++i) chain[i] = uint8_t(i * 17 + 3);
  AezCellDirection inside(false, aez_key, chain_key, chain);
  AezCellDirection ahead(false, aez_key, chain_key, chain);
  for (int cell = 0; cell < 40; ++cell) {
    std::array<uint8_t, kCellBodyBytes> a{}, b{};
    for (size_t i = 0; i < a.size(); ++i) a[i] = b[i] = uint8_t(i * 7 + cell);
    const bool early = cell % 7 == 3;
    const bool decipher = cell % 3 == 1;
    if (cell % 5 == 4) {  // both through Prepare + AezEncipher + Finish
      for (auto* pair : {&inside, &ahead}) {
        auto& body = pair == &inside ? a : b;
        alignas(16) uint8_t delta[16];
        pair->Prepare(early, delta);
        uint8_t head[32];
        std::memcpy(head, body.data(), 32);
        ASSERT_TRUE(AezEncipher(pair->key(), delta, body, body));
        pair->Finish(head, std::span<const uint8_t, 32>(body.data(), 32));
      }
    } else {
      decipher ? inside.Decipher(a, early) : inside.Encipher(a, early);
      kernels::ScopedPathOverride force(kernels::KernelFamily::kAezHash,
                                        kernels::KernelPath::Highway(HWY_SSE4));
      ASSERT_FALSE(kernels::AezCoreCellOverlapsHash());
      decipher ? ahead.Decipher(b, early) : ahead.Encipher(b, early);
    }
    ASSERT_EQ(a, b) << "cell " << cell;
  }
  EXPECT_EQ(inside.cell_number(), 40u);
}

}  // namespace
}  // namespace relaycell
