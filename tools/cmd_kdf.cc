// relaycell kdf --seed HEX | --rekey AEZKEY_HEX REKEYDATA_HEX: the 112-byte "aez" key material
// (aez_key | chain_key | chain_fwd | chain_bwd) as 224 lowercase hex digits.
#include <sodium.h>

#include <cstdio>
#include <string>
#include <vector>

#include "engine/common/kdf.h"
#include "tools/command.h"
#include "tools/kat.h"

namespace relaycell::tools {
namespace {

constexpr std::string_view kUsage =
    "relaycell kdf --seed HEX                      (key seed, at least 32 bytes)\n"
    "       relaycell kdf --rekey AEZKEY_HEX REKEYDATA_HEX  (48-byte aez_key, any rekey_data)";

int RunKdf(Args args);
const Command kKdfCommand{"kdf", "derive a hop's aez key material from a seed or a rekey", kUsage,
                          RunKdf, /*holds_secrets=*/true};

// Wipes the decoded secrets on every path out of RunKdf.
struct Wiped {
  std::vector<unsigned char> bytes;
  ~Wiped() { sodium_memzero(bytes.data(), bytes.size()); }
};

int RunKdf(Args args) {
  if (WantsHelp(args)) {
    std::printf("usage: %.*s\n", int(kUsage.size()), kUsage.data());
    return kExitOk;
  }
  uint8_t out[kKdfOutputBytes];
  KdfError error = KdfError::kOk;
  if (args.size() == 2 && args[0] == "--seed") {
    Wiped seed;
    if (!DecodeHex(args[1], seed.bytes)) return UsageError(kKdfCommand, "--seed: not valid hex");
    if (seed.bytes.size() < kMinKeySeedBytes) {
      return UsageError(kKdfCommand, "--seed: a key seed needs at least 32 bytes, got " +
                                         std::to_string(seed.bytes.size()));
    }
    error = DeriveHopKeys(seed.bytes, out);
  } else if (args.size() == 3 && args[0] == "--rekey") {
    Wiped key, data;
    if (!DecodeHex(args[1], key.bytes))
      return UsageError(kKdfCommand, "--rekey: AEZKEY is not valid hex");
    if (key.bytes.size() != kKdfAezKeyBytes) {
      return UsageError(kKdfCommand, "--rekey: aez_key must be 48 bytes, got " +
                                         std::to_string(key.bytes.size()));
    }
    if (!DecodeHex(args[2], data.bytes))
      return UsageError(kKdfCommand, "--rekey: REKEYDATA is not valid hex");
    error = DeriveRekeyKeys(
        std::span<const uint8_t, kKdfAezKeyBytes>(key.bytes.data(), kKdfAezKeyBytes), data.bytes,
        out);
  } else {
    return UsageError(kKdfCommand, "need --seed HEX or --rekey AEZKEY_HEX REKEYDATA_HEX");
  }
  if (error != KdfError::kOk) {
    std::fprintf(stderr, "relaycell kdf: %s\n", KdfErrorName(error));
    return kExitFailed;
  }
  std::string hex = EncodeHex(out, sizeof out);
  sodium_memzero(out, sizeof out);
  std::printf("%s\n", hex.c_str());
  sodium_memzero(hex.data(), hex.size());
  return kExitOk;
}

const bool registered = RegisterCommand(kKdfCommand);

}  // namespace
}  // namespace relaycell::tools
