// `relaycell bench kernels`: each SIMD kernel against the library that does the same job best,
// both measured in the same run (ratio > 1 = we are faster).
#include <isa-l.h>
#include <openssl/evp.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "kernels/aes_rounds.h"
#include "kernels/gf256.h"
#include "kernels/otp_xor.h"
#include "kernels/path_choice.h"
#include "kernels/targets.h"
#include "kernels/polyval.h"
#include "tools/bench.h"
#include "tools/bench_baselines.h"

namespace relaycell::tools {
namespace {

// The AEZ shape: one cell's pass is a few dozen blocks through AES4.
constexpr size_t kAesBlocks = 28;
constexpr size_t kAesRounds = 4;
constexpr size_t kCtrBytes = 509;  // a relay cell's payload; 32 blocks of AES-128 (10 rounds)
constexpr size_t kXorBytes = 4096;
constexpr size_t kGfRowBytes = 64 * 1024;
constexpr size_t kPolyvalBytes = 512;

}  // namespace

AesRoundsWorkload::AesRoundsWorkload()
    : in_(RandomBytes(16 * kBlocks, 1)),
      offsets_(RandomBytes(16 * kBlocks, 2)),
      keys_(RandomBytes(16 * kRounds, 3)),
      out_(16 * kBlocks) {}

void AesRoundsWorkload::Run(size_t n) {
  for (size_t i = 0; i < n; ++i) {
    kernels::AesRounds(in_, offsets_, keys_, out_);
    ClobberMemory();
  }
  DoNotOptimize(out_[0]);
}

namespace {

void BenchAesRounds(const BenchConfig& config, std::vector<BenchResult>& results) {
  auto in = RandomBytes(16 * kAesBlocks, 1), offsets = RandomBytes(16 * kAesBlocks, 2);
  auto keys = RandomBytes(16 * kAesRounds, 3);
  std::vector<uint8_t> out(in.size());
  AesRoundsWorkload workload;
  IpsecMbAes128Ctr ctr_509(kCtrBytes);
  const kernels::KernelPath highway = kernels::KernelPath::Highway(kernels::BestHighwayTarget());
  const std::vector<double> ns =
      NsPerOpInterleaved({[&](size_t n) { workload.Run(n); }, [&](size_t n) { ctr_509.Run(n); },
                          [&](size_t n) {
                            for (size_t i = 0; i < n; ++i) {
                              kernels::AesRoundsWithPath(highway, in, offsets, keys, out);
                              ClobberMemory();
                            }
                            DoNotOptimize(out[0]);
                          }},
                         config.min_time_s * 3);
  const double ours = AesRoundsWorkload::kBlockRounds / ns[0];
  const double ctr_ns = ns[1], highway_ns = ns[2];
  const double ctr = double(32 * 10) / ctr_ns;
  char note[160];
  std::snprintf(note, sizeof note,
                "28 blocks x 4 rounds, shared keys, offsets; path %s; %s alone %.2f",
                kernels::ActivePath(kernels::KernelFamily::kAesRounds).Name().c_str(),
                highway.Name().c_str(), double(kAesBlocks * kAesRounds) / highway_ns);
  results.push_back({"kernels.aes_rounds",
                     ours,
                     "block-rounds/ns",
                     {{"ipsec_mb.aes128_ctr_509", ours / ctr}},
                     note});
}

void BenchOtpXor(const BenchConfig& config, std::vector<BenchResult>& results) {
  // Pads and messages are 64-byte aligned, as the PSRD store and the key arena hand them out;
  // memcpy gets the same buffers.
  struct alignas(64) Buffers {
    uint8_t in[kXorBytes], pad[kXorBytes], out[kXorBytes];
  };
  auto buffers = std::make_unique<Buffers>();
  const auto in_bytes = RandomBytes(kXorBytes, 7), pad_bytes = RandomBytes(kXorBytes, 8);
  std::memcpy(buffers->in, in_bytes.data(), kXorBytes);
  std::memcpy(buffers->pad, pad_bytes.data(), kXorBytes);
  const std::span<const uint8_t> in(buffers->in), pad(buffers->pad);
  const std::span<uint8_t> out(buffers->out);
  const std::vector<double> ns =
      NsPerOpInterleaved({[&](size_t n) {
                            for (size_t i = 0; i < n; ++i) {
                              kernels::OtpXor(in, pad, out);
                              ClobberMemory();
                            }
                          },
                          [&](size_t n) {
                            for (size_t i = 0; i < n; ++i) {
                              std::memcpy(out.data(), in.data(), kXorBytes);
                              ClobberMemory();
                            }
                          }},
                         config.min_time_s);
  const double ours_ns = ns[0], memcpy_ns = ns[1];
  results.push_back({"kernels.otp_xor",
                     double(kXorBytes) / ours_ns,
                     "GB/s",
                     {{"memcpy", memcpy_ns / ours_ns}},
                     "4 KiB buffers, 64-byte aligned, in L1"});
}

// k input rows, m output rows of kGfRowBytes; ISA-L's tables built inside the timed loop just
// as ours are (both take coefficients in, products out). ISA-L works in GF(2^8) mod 0x11D, we
// in the AES field 0x11B: the outputs differ, the work (two PSHUFB per byte and coefficient)
// does not.
void BenchGf(const BenchConfig& config, std::vector<BenchResult>& results) {
  constexpr size_t k = 3, m = 5;
  std::vector<std::vector<uint8_t>> in(k), out(m), isal_out(m);
  std::vector<const uint8_t*> in_rows;
  std::vector<uint8_t*> out_rows, isal_in, isal_out_rows;
  for (size_t j = 0; j < k; ++j) {
    in[j] = RandomBytes(kGfRowBytes, 10 + j);
    in_rows.push_back(in[j].data());
    isal_in.push_back(in[j].data());
  }
  for (size_t r = 0; r < m; ++r) {
    out[r].resize(kGfRowBytes);
    isal_out[r].resize(kGfRowBytes);
    out_rows.push_back(out[r].data());
    isal_out_rows.push_back(isal_out[r].data());
  }
  auto coefficients = RandomBytes(k * m, 20);
  for (auto& c : coefficients) c |= 1;
  std::vector<uint8_t> tables(32 * k * m);

  const std::vector<double> encode = NsPerOpInterleaved(
      {[&](size_t n) {
         for (size_t i = 0; i < n; ++i) {
           kernels::GfMatrixMultiply(coefficients, k, m, in_rows, out_rows, kGfRowBytes);
           ClobberMemory();
         }
       },
       [&](size_t n) {
         for (size_t i = 0; i < n; ++i) {
           ec_init_tables(int(k), int(m), coefficients.data(), tables.data());
           ec_encode_data(int(kGfRowBytes), int(k), int(m), tables.data(), isal_in.data(),
                          isal_out_rows.data());
           ClobberMemory();
         }
       }},
      config.min_time_s);
  const double encode_ns = encode[0], isal_encode_ns = encode[1];
  results.push_back({"kernels.gf_encode_k3_m5",
                     double(k * kGfRowBytes) / encode_ns,
                     "GB/s",
                     {{"isal.ec_encode_data", isal_encode_ns / encode_ns}},
                     "64 KiB rows; ISA-L's field is 0x11D, ours 0x11B: same work"});

  std::vector<uint8_t> dot(kGfRowBytes), isal_dot(kGfRowBytes);
  const std::span<const uint8_t> dot_coefficients(coefficients.data(), k);
  const std::vector<double> dot_pair =
      NsPerOpInterleaved({[&](size_t n) {
                            for (size_t i = 0; i < n; ++i) {
                              kernels::GfDotProduct(dot_coefficients, in_rows, dot);
                              ClobberMemory();
                            }
                          },
                          [&](size_t n) {
                            for (size_t i = 0; i < n; ++i) {
                              ec_init_tables(int(k), 1, coefficients.data(), tables.data());
                              gf_vect_dot_prod(int(kGfRowBytes), int(k), tables.data(),
                                               isal_in.data(), isal_dot.data());
                              ClobberMemory();
                            }
                          }},
                         config.min_time_s);
  const double dot_ns = dot_pair[0], isal_dot_ns = dot_pair[1];
  results.push_back({"kernels.gf_dot_k3",
                     double(k * kGfRowBytes) / dot_ns,
                     "GB/s",
                     {{"isal.gf_vect_dot_prod", isal_dot_ns / dot_ns}},
                     "64 KiB rows"});
}

void BenchPolyval(const BenchConfig& config, std::vector<BenchResult>& results) {
  auto h = RandomBytes(16, 30), message = RandomBytes(kPolyvalBytes, 31);
  uint8_t tag[16];
  const double ours_ns = NsPerOp(
      [&](size_t n) {
        for (size_t i = 0; i < n; ++i) {
          kernels::Polyval(std::span<const uint8_t, 16>(h.data(), 16), message, tag);
          message[0] ^= tag[0];
        }
        DoNotOptimize(tag[0]);
      },
      config.min_time_s);

  // GMAC: AES-128-GCM with the 512 bytes as AAD and nothing to encrypt, key set once.
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  const auto key = RandomBytes(16, 32), iv = RandomBytes(12, 33);
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, key.data(), iv.data());
  const double gmac_ns = NsPerOp(
      [&](size_t n) {
        for (size_t i = 0; i < n; ++i) {
          int len = 0;
          EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, nullptr, iv.data());
          EVP_EncryptUpdate(ctx.get(), nullptr, &len, message.data(), int(kPolyvalBytes));
          EVP_EncryptFinal_ex(ctx.get(), tag, &len);
          EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, tag);
          message[0] ^= tag[0];
        }
        DoNotOptimize(tag[0]);
      },
      config.min_time_s);
  results.push_back({"kernels.polyval_512",
                     double(kPolyvalBytes) / ours_ns,
                     "GB/s",
                     {{"openssl.gmac_512", gmac_ns / ours_ns}},
                     "one 512-byte message"});
}

void RunKernels(const BenchConfig& config, std::vector<BenchResult>& results) {
  BenchAesRounds(config, results);
  BenchOtpXor(config, results);
  BenchGf(config, results);
  BenchPolyval(config, results);
}

const bool registered = RegisterBenchGroup(
    {"kernels", "AES rounds, OTP XOR, GF(2^8) matrix and dot, POLYVAL vs ipsec-mb/ISA-L/OpenSSL",
     RunKernels, 10});

}  // namespace
}  // namespace relaycell::tools
