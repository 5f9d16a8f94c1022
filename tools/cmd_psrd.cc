// relaycell psrd init CLIENT_DIR CLIENT HUB_DIR HUB [--bytes N] [--block-bytes N]
// relaycell psrd status DIR
#include <charconv>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/dske/psrd.h"
#include "tools/command.h"

namespace relaycell::tools {
namespace {

constexpr std::string_view kUsage =
    "relaycell psrd init CLIENT_DIR CLIENT HUB_DIR HUB [--bytes N] [--block-bytes N]\n"
    "       relaycell psrd status DIR\n"
    "  init writes both pools of a (client, hub) pair (CLIENT.to.HUB, HUB.to.CLIENT, N bytes\n"
    "  each, default 16 MiB) into both parties' stores from one CSPRNG draw; carry HUB_DIR to\n"
    "  the hub over a trusted channel. status shows what is left in every pool of a store.";

int RunPsrd(Args args);
const Command kPsrdCommand{"psrd", "create and inspect DSKE pre-shared random data pools", kUsage,
                           RunPsrd, /*holds_secrets=*/true};

bool ParseU64(std::string_view text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

int Init(Args args) {
  std::vector<std::string_view> positional;
  uint64_t bytes = 16u << 20, block_bytes = psrd::kDefaultBlockBytes;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--bytes" || args[i] == "--block-bytes") {
      uint64_t& target = args[i] == "--bytes" ? bytes : block_bytes;
      if (i + 1 >= args.size() || !ParseU64(args[i + 1], target) || target == 0) {
        return UsageError(kPsrdCommand, std::string(args[i]) + " needs a positive byte count");
      }
      ++i;
    } else if (!args[i].empty() && args[i][0] == '-') {
      return UsageError(kPsrdCommand, "unknown option " + std::string(args[i]));
    } else {
      positional.push_back(args[i]);
    }
  }
  if (positional.size() != 4)
    return UsageError(kPsrdCommand, "init needs CLIENT_DIR CLIENT HUB_DIR HUB");
  if (block_bytes > UINT32_MAX)
    return UsageError(kPsrdCommand, "--block-bytes must fit in 32 bits");
  if (!psrd::ValidPartyName(positional[1]) || !psrd::ValidPartyName(positional[3]) ||
      positional[1] == positional[3]) {
    return UsageError(kPsrdCommand, "party names are 1..28 of [A-Za-z0-9_-] and differ");
  }
  const psrd::PsrdError e =
      psrd::InitPair(std::string(positional[0]), positional[1], std::string(positional[2]),
                     positional[3], bytes, static_cast<uint32_t>(block_bytes));
  if (e != psrd::PsrdError::kOk) {
    std::fprintf(stderr, "relaycell psrd init: %s\n", psrd::PsrdErrorName(e));
    return e == psrd::PsrdError::kAlreadyExists || e == psrd::PsrdError::kBadName ? kExitUsage
                                                                                  : kExitFailed;
  }
  std::printf("created %s and %s (%llu bytes each) in %.*s and %.*s\n",
              psrd::PoolName(positional[1], positional[3]).c_str(),
              psrd::PoolName(positional[3], positional[1]).c_str(),
              static_cast<unsigned long long>(bytes), int(positional[0].size()),
              positional[0].data(), int(positional[2].size()), positional[2].data());
  return kExitOk;
}

int Status(Args args) {
  if (args.size() != 1) return UsageError(kPsrdCommand, "status needs DIR");
  const std::string dir(args[0]);
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "watermarks.sqlite", ec)) {
    std::fprintf(stderr, "relaycell psrd status: %s is not a PSRD store\n", dir.c_str());
    return kExitUsage;
  }
  std::unique_ptr<psrd::PsrdStore> store;
  std::vector<psrd::PoolStatus> pools;
  psrd::PsrdError e = psrd::PsrdStore::Open(dir, store);
  if (e == psrd::PsrdError::kOk) e = store->Status(pools);
  if (e != psrd::PsrdError::kOk) {
    std::fprintf(stderr, "relaycell psrd status: %s\n", psrd::PsrdErrorName(e));
    return kExitFailed;
  }
  std::printf("%-40s %-9s %14s %14s %14s %7s\n", "pool", "allocator", "size", "consumed",
              "remaining", "left%");
  for (const psrd::PoolStatus& p : pools) {
    std::printf("%-40s %-9s %14llu %14llu %14llu %6.2f%%\n", p.name.c_str(),
                p.owned ? "us" : "peer", static_cast<unsigned long long>(p.size),
                static_cast<unsigned long long>(p.watermark),
                static_cast<unsigned long long>(p.remaining()),
                p.size ? 100.0 * double(p.remaining()) / double(p.size) : 0.0);
  }
  return kExitOk;
}

int RunPsrd(Args args) {
  if (args.empty()) return UsageError(kPsrdCommand, "need init or status");
  if (args[0] == "init") return Init(args.subspan(1));
  if (args[0] == "status") return Status(args.subspan(1));
  return UsageError(kPsrdCommand, "unknown subcommand '" + std::string(args[0]) + "'");
}

const bool registered = RegisterCommand(kPsrdCommand);

}  // namespace
}  // namespace relaycell::tools
