// `relaycell bench dske`: Shamir split/combine against libgfshare and ISA-L, and the WC MAC.
//
// Every baseline does the same job as ours in the same run: split = draw the k - 1 random rows
// from a CSPRNG and evaluate the n shares (libgfshare with libsodium's randombytes_buf as its
// random source; ISA-L with the same ChaCha20 stream as ours, then ec_encode_data); combine =
// compute the Lagrange coefficients for the given x's and take the dot product.
#include <sodium.h>

#include <array>
#include <cstring>
#include <isa-l.h>
#include <vector>

extern "C" {
#include <libgfshare.h>
}

#include "circuit/dske_message.h"
#include "engine/sss.h"
#include "engine/wc_mac.h"
#include "kernels/gf256.h"
#include "tools/bench.h"

namespace relaycell::tools {
namespace {

constexpr size_t kSecretBytes = 64 * 1024;
constexpr unsigned kK = 3, kN = 5;

void SodiumRandom(unsigned char* buffer, unsigned int count) { randombytes_buf(buffer, count); }

double GbPerS(double bytes, double ns) { return bytes / ns; }

void RunDske(const BenchConfig& config, std::vector<BenchResult>& results) {
  if (sodium_init() < 0) return;
  gfshare_fill_rand = SodiumRandom;
  std::vector<uint8_t> secret(kSecretBytes);
  randombytes_buf(secret.data(), secret.size());
  std::vector<std::vector<uint8_t>> shares(kN, std::vector<uint8_t>(kSecretBytes));
  std::vector<uint8_t*> share_ptrs;
  for (auto& s : shares) share_ptrs.push_back(s.data());

  // --- split ---
  sss::Splitter splitter;
  const double ours_split = NsPerOp([&](size_t it) {
    for (size_t i = 0; i < it; ++i) {
      splitter.Split(secret, kK, share_ptrs);
      ClobberMemory();
    }
  }, config.min_time_s);

  unsigned char sharenrs[kN] = {1, 2, 3, 4, 5};
  gfshare_ctx* enc = gfshare_ctx_init_enc(sharenrs, kN, kK, kSecretBytes);
  const double gfshare_split = NsPerOp([&](size_t it) {
    for (size_t i = 0; i < it; ++i) {
      gfshare_ctx_enc_setsecret(enc, secret.data());
      for (unsigned s = 0; s < kN; ++s) gfshare_ctx_enc_getshare(enc, static_cast<unsigned char>(s), share_ptrs[s]);
      ClobberMemory();
    }
  }, config.min_time_s);
  gfshare_ctx_free(enc);

  // ISA-L: the same Vandermonde rows, the same ChaCha20 random rows, then ec_encode_data.
  unsigned char matrix[kN * kK];
  for (unsigned r = 0; r < kN; ++r) {
    unsigned char power = 1;
    for (unsigned j = 0; j < kK; ++j) {
      matrix[r * kK + j] = power;
      power = gf_mul(power, static_cast<unsigned char>(r + 1));
    }
  }
  std::vector<unsigned char> tables(32 * kK * kN);
  std::vector<uint8_t> random_rows((kK - 1) * kSecretBytes);
  unsigned char* isal_in[kK] = {secret.data(), random_rows.data(), random_rows.data() + kSecretBytes};
  auto isal_split_once = [&](bool with_random) {
    if (with_random) {
      uint8_t seed[randombytes_SEEDBYTES];
      randombytes_buf(seed, sizeof seed);
      randombytes_buf_deterministic(random_rows.data(), random_rows.size(), seed);
    }
    ec_init_tables(kK, kN, matrix, tables.data());
    ec_encode_data(kSecretBytes, kK, kN, tables.data(), isal_in, share_ptrs.data());
  };
  const double isal_split = NsPerOp([&](size_t it) {
    for (size_t i = 0; i < it; ++i) {
      isal_split_once(true);
      ClobberMemory();
    }
  }, config.min_time_s);
  const double isal_matrix_only = NsPerOp([&](size_t it) {
    for (size_t i = 0; i < it; ++i) {
      isal_split_once(false);
      ClobberMemory();
    }
  }, config.min_time_s);
  // Our matrix step alone, on the same rows, for the note.
  std::array<const uint8_t*, kK> rows = {secret.data(), random_rows.data(), random_rows.data() + kSecretBytes};
  std::vector<uint8_t> our_matrix(kN * kK);
  for (unsigned r = 0; r < kN; ++r) {
    uint8_t power = 1;
    for (unsigned j = 0; j < kK; ++j) {
      our_matrix[r * kK + j] = power;
      power = kernels::GfMul(power, static_cast<uint8_t>(r + 1));
    }
  }
  const double ours_matrix_only = NsPerOp([&](size_t it) {
    for (size_t i = 0; i < it; ++i) {
      kernels::GfMatrixMultiply(our_matrix, kK, kN, rows, share_ptrs, kSecretBytes);
      ClobberMemory();
    }
  }, config.min_time_s);

  char note[128];
  std::snprintf(note, sizeof note, "%zu KiB secret, incl. ChaCha20 rows; matrix step alone %.1f GB/s, %.2fx isal",
                kSecretBytes / 1024, GbPerS(kSecretBytes, ours_matrix_only),
                isal_matrix_only / ours_matrix_only);
  results.push_back({"dske.sss_split_k3_n5", GbPerS(kSecretBytes, ours_split), "GB/s",
                     {{"libgfshare", gfshare_split / ours_split}, {"isal.ec_encode_data", isal_split / ours_split}},
                     note});

  // --- combine (shares x = 1, 3, 5) ---
  const uint8_t xs[kK] = {1, 3, 5};
  const uint8_t* ys[kK] = {shares[0].data(), shares[2].data(), shares[4].data()};
  std::vector<uint8_t> out(kSecretBytes);
  const double ours_combine = NsPerOp([&](size_t it) {
    for (size_t i = 0; i < it; ++i) {
      sss::Combine(xs, ys, out);
      ClobberMemory();
    }
  }, config.min_time_s);

  unsigned char dec_nrs[kK] = {1, 3, 5};
  gfshare_ctx* dec = gfshare_ctx_init_dec(dec_nrs, kK, kSecretBytes);
  const double gfshare_combine = NsPerOp([&](size_t it) {
    for (size_t i = 0; i < it; ++i) {
      gfshare_ctx_dec_newshares(dec, dec_nrs);
      for (unsigned s = 0; s < kK; ++s) gfshare_ctx_dec_giveshare(dec, static_cast<unsigned char>(s), const_cast<uint8_t*>(ys[s]));
      gfshare_ctx_dec_extract(dec, out.data());
      ClobberMemory();
    }
  }, config.min_time_s);
  gfshare_ctx_free(dec);

  unsigned char* isal_src[kK] = {shares[0].data(), shares[2].data(), shares[4].data()};
  std::vector<unsigned char> dot_tables(32 * kK);
  const double isal_combine = NsPerOp([&](size_t it) {
    for (size_t i = 0; i < it; ++i) {
      // Lagrange coefficients at 0 in ISA-L's own arithmetic, then the dot product.
      unsigned char coefficients[kK];
      for (unsigned j = 0; j < kK; ++j) {
        unsigned char num = 1, den = 1;
        for (unsigned m = 0; m < kK; ++m) {
          if (m == j) continue;
          num = gf_mul(num, xs[m]);
          den = gf_mul(den, xs[m] ^ xs[j]);
        }
        coefficients[j] = gf_mul(num, gf_inv(den));
      }
      ec_init_tables(kK, 1, coefficients, dot_tables.data());
      gf_vect_dot_prod(kSecretBytes, kK, dot_tables.data(), isal_src, out.data());
      ClobberMemory();
    }
  }, config.min_time_s);
  results.push_back({"dske.sss_combine_k3", GbPerS(kSecretBytes, ours_combine), "GB/s",
                     {{"libgfshare", gfshare_combine / ours_combine}, {"isal.gf_vect_dot_prod", isal_combine / ours_combine}},
                     "64 KiB secret"});

  // --- WC MAC over one full DSKE cell (header of a one-fragment share message) ---
  std::array<uint8_t, wc_mac::kKeyBytes> key;
  randombytes_buf(key.data(), key.size());
  std::array<uint8_t, dske::kMaxMessageBytes> message;
  randombytes_buf(message.data(), message.size());
  const size_t header_bytes = dske::ShareHeaderBytes(1);
  const std::span<const uint8_t> header(message.data(), header_bytes);
  const std::span<const uint8_t> body(message.data() + header_bytes,
                                      dske::kMaxMessageBytes - header_bytes - wc_mac::kTagBytes);
  std::array<uint8_t, wc_mac::kTagBytes> tag;
  const double mac_ns = NsPerOp([&](size_t it) {
    for (size_t i = 0; i < it; ++i) {
      key[0] = static_cast<uint8_t>(i);
      wc_mac::ComputeTag(key, header, body, tag);
      DoNotOptimize(tag);
    }
  }, config.min_time_s);
  results.push_back({"dske.wc_mac_498", mac_ns, "ns", {}, "tag over one 498-byte DSKE message"});
}

const bool registered = RegisterBenchGroup({"dske", "DSKE: Shamir split/combine, WC MAC", RunDske, 60});

}  // namespace
}  // namespace relaycell::tools
