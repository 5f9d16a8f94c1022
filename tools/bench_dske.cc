// `relaycell bench dske`: Shamir split/combine against libgfshare and ISA-L, the WC MAC, and
// whole key exchanges (A -> 5 hubs -> B over circuits, PSRD in SQLite).
//
// Every baseline does the same job as ours in the same run: split = draw the k - 1 random rows
// and evaluate the n shares (libgfshare with libsodium's randombytes_buf as its random source;
// ISA-L with the same AES-256-CTR coefficient stream as ours, keyed per split and filled in the
// same 16 KiB pieces, then ec_encode_data); combine = compute the Lagrange coefficients for the
// given x's and take the dot product.
#include <sodium.h>

#include <stdlib.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <isa-l.h>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include <libgfshare.h>
}

#include "circuit/dske/dske_client.h"
#include "circuit/dske/dske_hub.h"
#include "circuit/dske/dske_message.h"
#include "engine/dske/psrd.h"
#include "engine/dske/sss.h"
#include "engine/dske/sss_coefficient_stream.h"
#include "engine/dske/wc_mac.h"
#include "kernels/gf256.h"
#include "tools/bench.h"

namespace relaycell::tools {
namespace {

constexpr size_t kSecretBytes = 64 * 1024;
constexpr unsigned kK = 3, kN = 5;

void SodiumRandom(unsigned char* buffer, unsigned int count) { randombytes_buf(buffer, count); }

double GbPerS(double bytes, double ns) { return bytes / ns; }

// A, B and five hubs with their stores under a fresh directory in `parent`, each client
// reaching each hub over its own 1..3-hop aez circuit (the hub is the last hop).
class ExchangeWorld {
 public:
  ~ExchangeWorld() {
    alice_hubs_.clear();
    bob_hubs_.clear();
    channels_.clear();
    hubs_.clear();
    alice_.reset();
    bob_.reset();
    alice_store_.reset();
    bob_store_.reset();
    if (!root_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(root_, ec);
    }
  }

  bool Build(const std::filesystem::path& parent, uint64_t pool_bytes) {
    std::string pattern = (parent / "relaycell_dske_bench_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return false;
    root_ = pattern;
    for (size_t i = 0; i < kN; ++i) {
      const std::string hub = HubName(i);
      if (psrd::InitPair(root_ / "alice", "alice", root_ / hub, hub, pool_bytes) !=
              psrd::PsrdError::kOk ||
          psrd::InitPair(root_ / "bob", "bob", root_ / hub, hub, pool_bytes) !=
              psrd::PsrdError::kOk) {
        return false;
      }
    }
    if (psrd::PsrdStore::Open(root_ / "alice", alice_store_) != psrd::PsrdError::kOk ||
        psrd::PsrdStore::Open(root_ / "bob", bob_store_) != psrd::PsrdError::kOk) {
      return false;
    }
    alice_ = std::make_unique<dske::DskeClient>("alice", *alice_store_);
    bob_ = std::make_unique<dske::DskeClient>("bob", *bob_store_);
    uint32_t circ_id = 100;
    for (size_t i = 0; i < kN; ++i) {
      std::unique_ptr<dske::DskeHub> hub;
      if (dske::DskeHub::Open(HubName(i), root_ / HubName(i), hub) != dske::HubError::kOk)
        return false;
      for (int side = 0; side < 2; ++side) {
        std::vector<std::vector<uint8_t>> seeds((i + size_t(side)) % 3 + 1,
                                                std::vector<uint8_t>(32));
        for (auto& seed : seeds) randombytes_buf(seed.data(), seed.size());
        std::vector<std::span<const uint8_t>> views(seeds.begin(), seeds.end());
        std::unique_ptr<dske::CircuitHubChannel> channel;
        if (dske::CircuitHubChannel::Create(side == 0 ? "alice" : "bob", *hub, circ_id, views,
                                            channel) != SuiteError::kOk) {
          return false;
        }
        circ_id += 10;
        (side == 0 ? alice_hubs_ : bob_hubs_).push_back(channel.get());
        channels_.push_back(std::move(channel));
      }
      hubs_.push_back(std::move(hub));
    }
    return true;
  }

  // One key A -> hubs -> B; false if anything but a clean exchange happened.
  bool ExchangeOne(std::span<const uint8_t> key, std::span<uint8_t> out) {
    dske::KeyId id;
    if (alice_->Share(key, alice_hubs_, kK, id).error != dske::ClientError::kOk) return false;
    const dske::ReceiveReport r = bob_->Receive(id, bob_hubs_, out);
    return r.error == dske::ClientError::kOk && r.key_bytes == key.size() &&
           std::memcmp(out.data(), key.data(), key.size()) == 0;
  }

 private:
  static std::string HubName(size_t i) {
    std::string name = "H";
    name += std::to_string(i + 1);
    return name;
  }

  std::filesystem::path root_;
  std::unique_ptr<psrd::PsrdStore> alice_store_, bob_store_;
  std::unique_ptr<dske::DskeClient> alice_, bob_;
  std::vector<std::unique_ptr<dske::DskeHub>> hubs_;
  std::vector<std::unique_ptr<dske::CircuitHubChannel>> channels_;
  std::vector<dske::HubChannel*> alice_hubs_, bob_hubs_;
};

// SQLite commits (each an fsync under synchronous=FULL) of one exchange: per hub, A's
// allocation, the hub's accept and insert, the hub's allocation and delete, B's accept.
constexpr unsigned kCommitsPerKey = 6 * kN;

// Keys per second end to end with the stores under `parent`; 0 if the world failed.
double KeysPerSecond(const std::filesystem::path& parent, uint64_t pool_bytes, double min_time_s) {
  ExchangeWorld world;
  if (!world.Build(parent, pool_bytes)) return 0;
  std::array<uint8_t, 32> key;
  std::array<uint8_t, 256> out;
  bool ok = true;
  const double ns = NsPerOp(
      [&](size_t it) {
        for (size_t i = 0; i < it && ok; ++i) {
          randombytes_buf(key.data(), key.size());
          ok = world.ExchangeOne(key, out);
        }
      },
      min_time_s);
  sodium_memzero(out.data(), out.size());
  return ok ? 1e9 / ns : 0;
}

void RunKeyExchange(const BenchConfig& config, std::vector<BenchResult>& results) {
  // A 32-byte key spends 96 bytes of pad a link: 1 MiB pools hold ~10900 keys, far more than
  // a fsync-bound disk does in a run; tmpfs gets 4 MiB.
  std::error_code ec;
  const std::filesystem::path disk = std::filesystem::temp_directory_path(ec);
  const double disk_keys = ec ? 0 : KeysPerSecond(disk, 1 << 20, config.min_time_s);
  char note[200];
  std::snprintf(note, sizeof note,
                "5 hubs, k=3, 32-byte keys, 1-3 hop aez circuits, stores in %s; bound by %u "
                "fsynced SQLite commits/key (WAL, synchronous=FULL): %.2f ms each",
                disk.c_str(), kCommitsPerKey,
                disk_keys > 0 ? 1e3 / (disk_keys * kCommitsPerKey) : 0.0);
  results.push_back({"dske.key_exchange", disk_keys, "keys/s", {}, note});
  if (config.quick || !std::filesystem::is_directory("/dev/shm", ec)) return;
  const double tmpfs_keys = KeysPerSecond("/dev/shm", 4 << 20, config.min_time_s);
  results.push_back({"dske.key_exchange_tmpfs",
                     tmpfs_keys,
                     "keys/s",
                     {},
                     "same on tmpfs (/dev/shm): fsync costs nothing, so this is the CPU + SQLite "
                     "bound; NOT durable across power loss"});
}

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
  const double ours_split = NsPerOp(
      [&](size_t it) {
        for (size_t i = 0; i < it; ++i) {
          splitter.Split(secret, kK, share_ptrs);
          ClobberMemory();
        }
      },
      config.min_time_s);

  unsigned char sharenrs[kN] = {1, 2, 3, 4, 5};
  gfshare_ctx* enc = gfshare_ctx_init_enc(sharenrs, kN, kK, kSecretBytes);
  const double gfshare_split = NsPerOp(
      [&](size_t it) {
        for (size_t i = 0; i < it; ++i) {
          gfshare_ctx_enc_setsecret(enc, secret.data());
          for (unsigned s = 0; s < kN; ++s)
            gfshare_ctx_enc_getshare(enc, static_cast<unsigned char>(s), share_ptrs[s]);
          ClobberMemory();
        }
      },
      config.min_time_s);
  gfshare_ctx_free(enc);

  // ISA-L: the same Vandermonde rows, the same AES-CTR random rows, then ec_encode_data.
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
  unsigned char* isal_in[kK] = {secret.data(), random_rows.data(),
                                random_rows.data() + kSecretBytes};
  auto isal_split_once = [&](bool with_random) {
    if (with_random) {
      // A fresh stream per split, as ours; each 16 KiB piece under its own nonce.
      sss::CoefficientStream stream;
      uint64_t nonce = 0;
      for (size_t done = 0; done < random_rows.size();
           done += sss::CoefficientStream::kMaxFillBytes) {
        const size_t piece =
            std::min(sss::CoefficientStream::kMaxFillBytes, random_rows.size() - done);
        stream.Fill(nonce++, std::span(random_rows.data() + done, piece));
      }
    }
    ec_init_tables(kK, kN, matrix, tables.data());
    ec_encode_data(kSecretBytes, kK, kN, tables.data(), isal_in, share_ptrs.data());
  };
  const double isal_split = NsPerOp(
      [&](size_t it) {
        for (size_t i = 0; i < it; ++i) {
          isal_split_once(true);
          ClobberMemory();
        }
      },
      config.min_time_s);
  const double isal_matrix_only = NsPerOp(
      [&](size_t it) {
        for (size_t i = 0; i < it; ++i) {
          isal_split_once(false);
          ClobberMemory();
        }
      },
      config.min_time_s);
  // Our matrix step alone, on the same rows, for the note.
  std::array<const uint8_t*, kK> rows = {secret.data(), random_rows.data(),
                                         random_rows.data() + kSecretBytes};
  std::vector<uint8_t> our_matrix(kN * kK);
  for (unsigned r = 0; r < kN; ++r) {
    uint8_t power = 1;
    for (unsigned j = 0; j < kK; ++j) {
      our_matrix[r * kK + j] = power;
      power = kernels::GfMul(power, static_cast<uint8_t>(r + 1));
    }
  }
  const double ours_matrix_only = NsPerOp(
      [&](size_t it) {
        for (size_t i = 0; i < it; ++i) {
          kernels::GfMatrixMultiply(our_matrix, kK, kN, rows, share_ptrs, kSecretBytes);
          ClobberMemory();
        }
      },
      config.min_time_s);

  char note[160];
  std::snprintf(
      note, sizeof note,
      "%zu KiB secret, incl. AES-CTR rows (both); matrix step alone %.1f GB/s, %.2fx isal",
      kSecretBytes / 1024, GbPerS(kSecretBytes, ours_matrix_only),
      isal_matrix_only / ours_matrix_only);
  results.push_back({"dske.sss_split_k3_n5",
                     GbPerS(kSecretBytes, ours_split),
                     "GB/s",
                     {{"libgfshare", gfshare_split / ours_split},
                      {"isal.ec_encode_data", isal_split / ours_split}},
                     note});

  // --- combine (shares x = 1, 3, 5) ---
  const uint8_t xs[kK] = {1, 3, 5};
  const uint8_t* ys[kK] = {shares[0].data(), shares[2].data(), shares[4].data()};
  std::vector<uint8_t> out(kSecretBytes);
  const double ours_combine = NsPerOp(
      [&](size_t it) {
        for (size_t i = 0; i < it; ++i) {
          sss::Combine(xs, ys, out);
          ClobberMemory();
        }
      },
      config.min_time_s);

  unsigned char dec_nrs[kK] = {1, 3, 5};
  gfshare_ctx* dec = gfshare_ctx_init_dec(dec_nrs, kK, kSecretBytes);
  const double gfshare_combine = NsPerOp(
      [&](size_t it) {
        for (size_t i = 0; i < it; ++i) {
          gfshare_ctx_dec_newshares(dec, dec_nrs);
          for (unsigned s = 0; s < kK; ++s)
            gfshare_ctx_dec_giveshare(dec, static_cast<unsigned char>(s),
                                      const_cast<uint8_t*>(ys[s]));
          gfshare_ctx_dec_extract(dec, out.data());
          ClobberMemory();
        }
      },
      config.min_time_s);
  gfshare_ctx_free(dec);

  unsigned char* isal_src[kK] = {shares[0].data(), shares[2].data(), shares[4].data()};
  std::vector<unsigned char> dot_tables(32 * kK);
  const double isal_combine = NsPerOp(
      [&](size_t it) {
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
      },
      config.min_time_s);
  results.push_back({"dske.sss_combine_k3",
                     GbPerS(kSecretBytes, ours_combine),
                     "GB/s",
                     {{"libgfshare", gfshare_combine / ours_combine},
                      {"isal.gf_vect_dot_prod", isal_combine / ours_combine}},
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
  const double mac_ns = NsPerOp(
      [&](size_t it) {
        for (size_t i = 0; i < it; ++i) {
          key[0] = static_cast<uint8_t>(i);
          wc_mac::ComputeTag(key, header, body, tag);
          DoNotOptimize(tag);
        }
      },
      config.min_time_s);
  results.push_back({"dske.wc_mac_498", mac_ns, "ns", {}, "tag over one 498-byte DSKE message"});

  RunKeyExchange(config, results);
}

const bool registered =
    RegisterBenchGroup({"dske", "DSKE: Shamir split/combine, WC MAC, key exchange", RunDske, 60});

}  // namespace
}  // namespace relaycell::tools
