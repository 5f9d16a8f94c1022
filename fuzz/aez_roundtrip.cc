// AEZ round trip from fuzzer-chosen key, nonce, AD vector, tau and message:
// Decrypt(Encrypt(m)) == m; the fast path, the batch API and the scalar reference agree.
//
// Input layout: key_len u8 | key | nonce_len u8 | nonce | ad_count u8 (mod 5) |
//               (ad_len u8 | ad)* | tau u8 (mod 33) | delta[16] | message (the rest)
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "engine/aez/aez.h"
#include "engine/aez/aez_reference.h"

namespace {

struct Reader {
  const uint8_t* data;
  size_t size;
  std::span<const uint8_t> Take(size_t n) {
    n = n < size ? n : size;
    std::span<const uint8_t> out(data, n);
    data += n;
    size -= n;
    return out;
  }
  uint8_t Byte() { return size > 0 ? Take(1)[0] : 0; }
};

// Says which property broke, so a crash file explains itself.
#define Check(ok)                                                          \
  do {                                                                     \
    if (!(ok)) {                                                           \
      std::fprintf(stderr, "aez_roundtrip: line %d: %s\n", __LINE__, #ok); \
      std::abort();                                                        \
    }                                                                      \
  } while (0)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relaycell;
  Reader r{data, size};
  const auto raw_key = r.Take(r.Byte());
  const auto nonce = r.Take(r.Byte());
  std::vector<std::span<const uint8_t>> ad(r.Byte() % 5);
  for (auto& a : ad) a = r.Take(r.Byte());
  const size_t tau = r.Byte() % 33;
  uint8_t delta[16] = {};
  const auto delta_in = r.Take(16);
  std::memcpy(delta, delta_in.data(), delta_in.size());
  const auto message = r.Take(r.size);

  uint8_t extracted[kAezKeyBytes];
  AezExtract(raw_key, extracted);
  AezKey key(extracted);

  // Encrypt / Decrypt round trip, and the reference gives the same ciphertext.
  std::vector<uint8_t> c(message.size() + tau), back(message.size());
  Check(AezEncrypt(key, nonce, ad, tau, message, c));
  Check(AezDecrypt(key, nonce, ad, tau, c, back));
  Check(back == std::vector<uint8_t>(message.begin(), message.end()));
  Check(c == aez_reference::Encrypt(extracted, nonce, ad, tau, message));
  // Any change to the ciphertext is caught, except with probability 2^-8τ: with τ < 8 a
  // forgery is an expected event, not a bug, so the check starts at 64-bit tags.
  if (tau >= 8 && !c.empty()) {
    c[c.size() / 2] ^= 1;
    Check(!AezDecrypt(key, nonce, ad, tau, c, back));
    for (uint8_t b : back) Check(b == 0);
  }

  // Encipher: single == batch == reference, and Decipher inverts it.
  std::vector<uint8_t> single(message.size()), batched(message.begin(), message.end());
  Check(AezEncipher(key, delta, message, single));
  const AezBatchJob jobs[] = {{&key, delta, batched.data(), batched.data(), batched.size()},
                              {&key, delta, message.data(), single.data(), 0}};
  AezEncipherBatch(jobs);
  Check(batched == single);
  Check(single == aez_reference::Encipher(extracted, delta, message));
  Check(AezDecipher(key, delta, single, single));
  Check(single == std::vector<uint8_t>(message.begin(), message.end()));
  return 0;
}
