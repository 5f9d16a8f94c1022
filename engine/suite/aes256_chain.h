// The chain step of the aez cell layer (protocol §4): chain = AES-256_{chain_key}(chain) ⊕ chain.
//
// ipsec-mb expands the key; the one-block encryption runs AES-NI directly when the CPU has it
// (a single block through ipsec-mb's job API costs several times the 14 rounds themselves) and
// falls back to an ipsec-mb ECB job otherwise.
#ifndef RELAYCELL_ENGINE_SUITE_AES256_CHAIN_H_
#define RELAYCELL_ENGINE_SUITE_AES256_CHAIN_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace relaycell {

inline constexpr size_t kAes256KeyBytes = 32;

class Aes256Chain {
 public:
  Aes256Chain() = default;
  explicit Aes256Chain(std::span<const uint8_t, kAes256KeyBytes> key) { Init(key); }
  ~Aes256Chain();
  Aes256Chain(const Aes256Chain&) = delete;
  Aes256Chain& operator=(const Aes256Chain&) = delete;

  // (Re)expands the key; the old schedule is overwritten.
  void Init(std::span<const uint8_t, kAes256KeyBytes> key);
  // chain = AES-256(chain) ⊕ chain, in place.
  void Step(std::span<uint8_t, 16> chain) const;
  // Step for many chains, each under its own key (ciphers[i] steps chains[i]). Eight at a time
  // with AES-NI: one chain's 14 rounds are a serial ~50-cycle dependency, eight hide each other.
  // Whatever the rounds leave on the stack is wiped by the batch that called it
  // (LayerBatch::Run, or the relay pipeline's batch, ends with WipeStack), once per batch
  // rather than per call.
  static void StepMany(std::span<const Aes256Chain* const> ciphers,
                       std::span<uint8_t* const> chains);
  // The expanded schedule (15 round keys), for kernels that run the step inside a larger call
  // (AezEncipherCell).
  std::span<const uint8_t, 15 * 16> round_keys() const { return round_keys_; }
  // One plain AES-256 block encryption (exposed for the known-answer test).
  void EncryptBlock(std::span<const uint8_t, 16> in, std::span<uint8_t, 16> out) const;

 private:
  alignas(16) uint8_t round_keys_[15 * 16]{};
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_AES256_CHAIN_H_
