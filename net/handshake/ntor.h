// The ntor handshake of CREATE2 / CREATED2 (network.md §3): tor-spec's "The ntor handshake"
// (§5.1.4) with ID the relay's 32-byte Ed25519 identity instead of a 20-byte digest.
//
//   client                                              relay (ID, b, B = b*G)
//   NtorClient::Start:  x random, X = x*G
//                       HDATA = ID | B | X  (96)  --->  NtorServerRespond: y random, Y = y*G,
//                                                       secret_input = EXP(X,y) | EXP(X,b) | ID
//                                                         | B | X | Y | PROTOID
//   NtorClient::Finish: the same secret_input     <---  HDATA = Y | AUTH  (64)
//                       from EXP(Y,x) | EXP(B,x),
//                       AUTH compared in constant time
//
// Both sides then hold the hop's key material (HopKeyMaterial), the seed the engine's suite
// takes (CellSuite::MakeHop): KEY_SEED for aez, the first 72 / 160 bytes of
// HKDF-SHA256(salt = t_key, IKM = secret_input, info = m_expand) for tor1 / cgo.
//
// Every secret (x, y, secret_input, KEY_SEED, verify, the HKDF output) lives in KeyArena slots:
// locked (never swapped), out of core dumps, and wiped on every path out.
#ifndef RELAYCELL_NET_HANDSHAKE_NTOR_H_
#define RELAYCELL_NET_HANDSHAKE_NTOR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace relaycell::net {

inline constexpr uint16_t kHtypeNtorTor1 = 0x0101, kHtypeNtorAez = 0x0102, kHtypeNtorCgo = 0x0103;
inline constexpr size_t kNtorKeyBytes = 32;             // ID, B, X, Y, x, y, b, AUTH
inline constexpr size_t kNtorClientHdataBytes = 96;     // ID | B | X
inline constexpr size_t kNtorServerHdataBytes = 64;     // Y | AUTH
inline constexpr size_t kMaxHopKeyMaterialBytes = 160;  // cgo's
inline constexpr size_t kMaxNtorProtoidBytes = 48;      // the longest PROTOID, with room

// Where a suite's key material comes from.
enum class NtorKeyOutput : uint8_t {
  kKeySeed,     // KEY_SEED itself (aez)
  kHkdfPrefix,  // the first key_material_bytes of HKDF-SHA256(t_key, secret_input, m_expand)
};

// One CREATE2 handshake type: ntor under its own PROTOID, giving one engine suite's seed.
// The handshake functions take only the entries of AllNtorSuites() (kUnknownSuite otherwise).
struct NtorSuite {
  uint16_t htype;
  std::string_view protoid;
  std::string_view suite_name;  // "tor1", "aez", "cgo": the engine's FindSuite name
  size_t key_material_bytes;    // 72, 32, 160
  NtorKeyOutput key_output;
};

// nullptr if unknown.
const NtorSuite* FindNtorSuiteByHtype(uint16_t htype);
const NtorSuite* FindNtorSuiteBySuiteName(std::string_view name);
// In HTYPE order.
std::span<const NtorSuite> AllNtorSuites();

enum class NtorError : uint8_t {
  kOk = 0,
  kBadLength,         // HDATA not exactly 96 (client's) / 64 (server's) bytes
  kWrongIdentity,     // server: the client's ID or B is not ours
  kZeroSharedSecret,  // an X25519 result is all zeros (a low-order point)
  kBadAuth,           // client: AUTH does not match
  kNoLockedMemory,    // no locked memory for the secrets
  kNotStarted,        // client: Finish without a successful Start (or a second Finish)
  kCryptoFailed,      // OpenSSL's HMAC or HKDF failed (not expected)
  kUnknownSuite,      // a NtorSuite not from AllNtorSuites()
};
// "bad_auth", ...: snake_case, usable as a counter's reason.
const char* NtorErrorName(NtorError error);

namespace ntor_internal {
struct Access;
}

// A hop's key material: the suite's seed for CellSuite::MakeHop (aez: KEY_SEED, 32 bytes;
// tor1: the first 72 bytes of the HKDF; cgo: the first 160). It lives in a locked KeyArena slot
// and is wiped when destroyed, on Wipe(), and when a handshake refills it. Empty until a
// handshake fills it (and after a failed one). Movable, not copyable.
class HopKeyMaterial {
 public:
  HopKeyMaterial() = default;
  ~HopKeyMaterial() { Wipe(); }
  HopKeyMaterial(HopKeyMaterial&& other) noexcept;
  HopKeyMaterial& operator=(HopKeyMaterial&& other) noexcept;
  HopKeyMaterial(const HopKeyMaterial&) = delete;
  HopKeyMaterial& operator=(const HopKeyMaterial&) = delete;

  // Empty if none.
  std::span<const uint8_t> bytes() const { return {slot_, size_}; }
  bool empty() const { return size_ == 0; }
  // Wipes the bytes and gives the slot back; bytes() is empty afterwards.
  void Wipe();

 private:
  friend struct ntor_internal::Access;
  uint8_t* slot_ = nullptr;
  size_t size_ = 0;
};

// The client side of one handshake. Start (or StartWithSecret) then Finish, once; x is wiped
// after Finish whatever its outcome, by a new Start, and on destruction. Movable.
class NtorClient {
 public:
  NtorClient() = default;
  ~NtorClient();
  NtorClient(NtorClient&& other) noexcept;
  NtorClient& operator=(NtorClient&& other) noexcept;
  NtorClient(const NtorClient&) = delete;
  NtorClient& operator=(const NtorClient&) = delete;

  // Makes x (libsodium randombytes) and writes HDATA = ID | B | X.
  NtorError Start(const NtorSuite& suite, std::span<const uint8_t, 32> relay_identity,
                  std::span<const uint8_t, 32> relay_onion_key,
                  std::span<uint8_t, kNtorClientHdataBytes> hdata_out);
  // Start with a given x instead of a random one (known-answer tests only).
  NtorError StartWithSecret(const NtorSuite& suite, std::span<const uint8_t, 32> relay_identity,
                            std::span<const uint8_t, 32> relay_onion_key,
                            std::span<const uint8_t, 32> x,
                            std::span<uint8_t, kNtorClientHdataBytes> hdata_out);
  // Checks the server's HDATA (exactly 64 bytes: Y | AUTH) and fills `out` with the hop's key
  // material; on any error `out` is left empty.
  NtorError Finish(std::span<const uint8_t> server_hdata, HopKeyMaterial& out);

  // The suite of the handshake under way, or nullptr.
  const NtorSuite* suite() const { return suite_; }

 private:
  NtorError Begin(const NtorSuite& suite, std::span<const uint8_t, 32> relay_identity,
                  std::span<const uint8_t, 32> relay_onion_key, const uint8_t* x,
                  std::span<uint8_t, kNtorClientHdataBytes> hdata_out);
  NtorError FinishWithScratch(std::span<const uint8_t> server_hdata, HopKeyMaterial& out);
  void Reset();

  const NtorSuite* suite_ = nullptr;
  uint8_t* x_ = nullptr;  // a locked KeyArena slot while a handshake is under way
  std::array<uint8_t, kNtorKeyBytes> id_{}, b_public_{}, x_public_{};
};

// The relay side: checks that the client's HDATA is exactly 96 bytes (kBadLength) and that its
// ID and B are ours (kWrongIdentity), makes y, writes HDATA = Y | AUTH and fills `out` with the
// hop's key material. On any error `out` is left empty and server_hdata_out zeroed.
NtorError NtorServerRespond(const NtorSuite& suite, std::span<const uint8_t, 32> identity,
                            std::span<const uint8_t, 32> onion_public,
                            std::span<const uint8_t, 32> onion_secret,
                            std::span<const uint8_t> client_hdata,
                            std::span<uint8_t, kNtorServerHdataBytes> server_hdata_out,
                            HopKeyMaterial& out);
// The same with a given y instead of a random one (known-answer tests only).
NtorError NtorServerRespondWithSecret(const NtorSuite& suite, std::span<const uint8_t, 32> identity,
                                      std::span<const uint8_t, 32> onion_public,
                                      std::span<const uint8_t, 32> onion_secret,
                                      std::span<const uint8_t, 32> y,
                                      std::span<const uint8_t> client_hdata,
                                      std::span<uint8_t, kNtorServerHdataBytes> server_hdata_out,
                                      HopKeyMaterial& out);

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_HANDSHAKE_NTOR_H_
