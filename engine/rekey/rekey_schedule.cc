#include "engine/rekey/rekey_schedule.h"

#include <sodium.h>

#include <algorithm>
#include <limits>
#include "engine/common/byte_io.h"

namespace relaycell {

RekeySchedule::RekeySchedule(const RekeyConfig& config) : config_(config) { StartThreshold(); }

RekeySchedule::RekeySchedule(const RekeyConfig& config,
                             std::span<const uint8_t, kRekeyScheduleSeedBytes> seed)
    : config_(config), seeded_(true) {
  std::copy(seed.begin(), seed.end(), seed_.begin());
  StartThreshold();
}

RekeySchedule::~RekeySchedule() { sodium_memzero(seed_.data(), seed_.size()); }

void RekeySchedule::Disable() {
  disabled_ = true;
  due_at_ = std::numeric_limits<uint64_t>::max();
  deadline_ = std::numeric_limits<uint64_t>::max();
}

void RekeySchedule::RequestRekey() {
  if (disabled_) return;
  due_at_ = std::min(due_at_, std::max(cells_, config_.min_spacing));
}

void RekeySchedule::OnRekeySent() {
  if (disabled_) return;
  ++rekeys_;
  cells_ = 0;
  StartThreshold();
}

void RekeySchedule::StartThreshold() {
  const uint64_t nominal = config_.Threshold(rekeys_);
  uint64_t threshold = nominal;
  if (config_.randomize) threshold -= UniformAtMost(RekeyConfig::MaxRandomReduction(nominal));
  due_at_ = threshold;
  // The relay enforces the nominal threshold (it cannot know our draw): the same deadline here.
  deadline_ = nominal + config_.slack;
}

uint64_t RekeySchedule::Random64() {
  uint8_t bytes[8];
  if (seeded_) {
    // One ChaCha20 block per draw, the draw number as nonce: a keyed stream that never repeats.
    uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
    for (int i = 0; i < 8; ++i) nonce[i] = static_cast<uint8_t>(draws_ >> (8 * i));
    ++draws_;
    crypto_stream_chacha20_ietf(bytes, sizeof bytes, nonce, seed_.data());
  } else {
    randombytes_buf(bytes, sizeof bytes);
  }
  const uint64_t value = LoadBe<uint64_t>(bytes, 0);
  sodium_memzero(bytes, sizeof bytes);
  return value;
}

uint64_t RekeySchedule::UniformAtMost(uint64_t max) {
  if (max == std::numeric_limits<uint64_t>::max()) return Random64();
  const uint64_t range = max + 1;
  if (range <= std::numeric_limits<uint32_t>::max() && !seeded_) {
    return randombytes_uniform(static_cast<uint32_t>(range));
  }
  // Rejection sampling: accept only below the largest multiple of `range`, so no residue is
  // favoured. At most half the draws are rejected, usually almost none.
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % range;
  uint64_t value;
  do value = Random64();
  while (value >= limit);
  return value % range;
}

}  // namespace relaycell
