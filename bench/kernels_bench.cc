// Google Benchmark view of the kernels and their baselines (the same workloads as
// `relaycell bench kernels`, with per-size sweeps). Bytes/s are of input.
#include <benchmark/benchmark.h>
#include <intel-ipsec-mb.h>
#include <isa-l.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernels/aes_rounds.h"
#include "kernels/gf256.h"
#include "kernels/otp_xor.h"
#include "kernels/polyval.h"

namespace {

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// AEZ shape: range(0) blocks through range(1) rounds.
void BM_AesRounds(benchmark::State& state) {
  const size_t blocks = size_t(state.range(0)), rounds = size_t(state.range(1));
  auto in = RandomBytes(16 * blocks, 1), offsets = RandomBytes(16 * blocks, 2);
  auto keys = RandomBytes(16 * rounds, 3);
  std::vector<uint8_t> out(in.size());
  for (auto _ : state) {
    relaycell::kernels::AesRounds(in, offsets, keys, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(int64_t(blocks * rounds) * state.iterations());  // block-rounds
}
BENCHMARK(BM_AesRounds)->Args({28, 4})->Args({32, 10})->Args({256, 4});

struct MgrDeleter {
  void operator()(IMB_MGR* mgr) const { free_mb_mgr(mgr); }
};

void BM_IpsecMbAes128Ctr(benchmark::State& state) {
  const size_t bytes = size_t(state.range(0));
  std::unique_ptr<IMB_MGR, MgrDeleter> mgr(alloc_mb_mgr(0));
  init_mb_mgr_auto(mgr.get(), nullptr);
  alignas(16) uint8_t enc[11 * 16], dec[11 * 16];
  const auto key = RandomBytes(16, 4), iv = RandomBytes(16, 5);
  IMB_AES_KEYEXP_128(mgr.get(), key.data(), enc, dec);
  auto buffer = RandomBytes(bytes, 6);
  for (auto _ : state) {
    IMB_JOB* job = IMB_GET_NEXT_JOB(mgr.get());
    job->cipher_mode = IMB_CIPHER_CNTR;
    job->cipher_direction = IMB_DIR_ENCRYPT;
    job->chain_order = IMB_ORDER_CIPHER_HASH;
    job->hash_alg = IMB_AUTH_NULL;
    job->enc_keys = enc;
    job->dec_keys = dec;
    job->key_len_in_bytes = IMB_KEY_128_BYTES;
    job->src = buffer.data();
    job->dst = buffer.data();
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = bytes;
    job->iv = iv.data();
    job->iv_len_in_bytes = 16;
    job = IMB_SUBMIT_JOB(mgr.get());
    while (job == nullptr) job = IMB_FLUSH_JOB(mgr.get());
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(int64_t(bytes) * state.iterations());
}
BENCHMARK(BM_IpsecMbAes128Ctr)->Arg(509);

void BM_OtpXor(benchmark::State& state) {
  const size_t bytes = size_t(state.range(0));
  auto in = RandomBytes(bytes, 7), pad = RandomBytes(bytes, 8);
  std::vector<uint8_t> out(bytes);
  for (auto _ : state) {
    relaycell::kernels::OtpXor(in, pad, out);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(bytes) * state.iterations());
}
BENCHMARK(BM_OtpXor)->Arg(64)->Arg(509)->Arg(4096)->Arg(1 << 20);

void BM_Memcpy(benchmark::State& state) {
  const size_t bytes = size_t(state.range(0));
  auto in = RandomBytes(bytes, 7);
  std::vector<uint8_t> out(bytes);
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), bytes);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(bytes) * state.iterations());
}
BENCHMARK(BM_Memcpy)->Arg(64)->Arg(509)->Arg(4096)->Arg(1 << 20);

// GF(2^8) k x m over range(2)-byte rows; ours (0x11B) and ISA-L (0x11D) do the same work.
struct GfRows {
  GfRows(size_t k, size_t m, size_t length)
      : coefficients(RandomBytes(k * m, 20)), tables(32 * k * m) {
    for (size_t j = 0; j < k; ++j) in.push_back(RandomBytes(length, 10 + j));
    for (size_t r = 0; r < m; ++r) out.emplace_back(length);
    for (auto& row : in) {
      in_rows.push_back(row.data());
      isal_in.push_back(row.data());
    }
    for (auto& row : out) out_rows.push_back(row.data());
  }
  std::vector<uint8_t> coefficients, tables;
  std::vector<std::vector<uint8_t>> in, out;
  std::vector<const uint8_t*> in_rows;
  std::vector<uint8_t*> isal_in, out_rows;
};

void BM_GfMatrixMultiply(benchmark::State& state) {
  const size_t k = size_t(state.range(0)), m = size_t(state.range(1)),
               length = size_t(state.range(2));
  GfRows rows(k, m, length);
  for (auto _ : state) {
    relaycell::kernels::GfMatrixMultiply(rows.coefficients, k, m, rows.in_rows, rows.out_rows,
                                         length);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(k * length) * state.iterations());
}
BENCHMARK(BM_GfMatrixMultiply)->Args({3, 5, 65536})->Args({3, 5, 4096})->Args({10, 4, 65536});

void BM_IsalEcEncodeData(benchmark::State& state) {
  const int k = int(state.range(0)), m = int(state.range(1)), length = int(state.range(2));
  GfRows rows{size_t(k), size_t(m), size_t(length)};
  for (auto _ : state) {
    ec_init_tables(k, m, rows.coefficients.data(), rows.tables.data());
    ec_encode_data(length, k, m, rows.tables.data(), rows.isal_in.data(), rows.out_rows.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(k) * length * state.iterations());
}
BENCHMARK(BM_IsalEcEncodeData)->Args({3, 5, 65536})->Args({3, 5, 4096})->Args({10, 4, 65536});

void BM_GfDotProduct(benchmark::State& state) {
  const size_t k = size_t(state.range(0)), length = size_t(state.range(1));
  GfRows rows(k, 1, length);
  for (auto _ : state) {
    relaycell::kernels::GfDotProduct(rows.coefficients, rows.in_rows, rows.out[0]);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(k * length) * state.iterations());
}
BENCHMARK(BM_GfDotProduct)->Args({3, 65536})->Args({3, 4096});

void BM_IsalGfVectDotProd(benchmark::State& state) {
  const int k = int(state.range(0)), length = int(state.range(1));
  GfRows rows{size_t(k), 1, size_t(length)};
  for (auto _ : state) {
    ec_init_tables(k, 1, rows.coefficients.data(), rows.tables.data());
    gf_vect_dot_prod(length, k, rows.tables.data(), rows.isal_in.data(), rows.out_rows[0]);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(k) * length * state.iterations());
}
BENCHMARK(BM_IsalGfVectDotProd)->Args({3, 65536})->Args({3, 4096});

void BM_Polyval(benchmark::State& state) {
  const size_t bytes = size_t(state.range(0));
  auto h = RandomBytes(16, 30), message = RandomBytes(bytes, 31);
  uint8_t tag[16];
  for (auto _ : state) {
    relaycell::kernels::Polyval(std::span<const uint8_t, 16>(h.data(), 16), message, tag);
    benchmark::DoNotOptimize(tag);
  }
  state.SetBytesProcessed(int64_t(bytes) * state.iterations());
}
BENCHMARK(BM_Polyval)->Arg(64)->Arg(512)->Arg(4096);

void BM_PolyvalBatch16(benchmark::State& state) {
  const size_t bytes = size_t(state.range(0));
  std::vector<std::vector<uint8_t>> keys, messages;
  std::vector<std::array<uint8_t, 16>> tags(16);
  std::vector<relaycell::kernels::PolyvalJob> jobs;
  for (size_t i = 0; i < 16; ++i) {
    keys.push_back(RandomBytes(16, 40 + i));
    messages.push_back(RandomBytes(bytes, 60 + i));
  }
  for (size_t i = 0; i < 16; ++i)
    jobs.push_back({keys[i].data(), messages[i].data(), bytes, tags[i].data()});
  for (auto _ : state) {
    relaycell::kernels::PolyvalBatch(jobs);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(16 * bytes) * state.iterations());
}
BENCHMARK(BM_PolyvalBatch16)->Arg(64)->Arg(512);

void BM_OpensslGmac(benchmark::State& state) {
  const size_t bytes = size_t(state.range(0));
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  const auto key = RandomBytes(16, 32), iv = RandomBytes(12, 33), message = RandomBytes(bytes, 34);
  uint8_t tag[16];
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, key.data(), iv.data());
  for (auto _ : state) {
    int len = 0;
    EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, nullptr, iv.data());
    EVP_EncryptUpdate(ctx.get(), nullptr, &len, message.data(), int(bytes));
    EVP_EncryptFinal_ex(ctx.get(), tag, &len);
    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, tag);
    benchmark::DoNotOptimize(tag);
  }
  state.SetBytesProcessed(int64_t(bytes) * state.iterations());
}
BENCHMARK(BM_OpensslGmac)->Arg(64)->Arg(512)->Arg(4096);

}  // namespace
