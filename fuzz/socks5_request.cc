// Fuzzes the SOCKS5 front's parsers (RFC 1928) fed incrementally: for every prefix of the input
// the answer is kNeedMore until it is kOk or kBad, and then the same answer (same consumed, same
// refusal) for every longer prefix; kNeedMore never consumes. A parsed request builds and parses
// back to the same target. Input byte 0 picks the greeting (odd) or the request (even).
#include <array>
#include <cstdint>
#include <span>

#include "net/socks/socks5.h"

namespace {

using namespace relaycell::net;

void CheckGreeting(std::span<const uint8_t> in) {
  bool decided = false;
  SocksParse verdict = SocksParse::kNeedMore;
  size_t verdict_consumed = 0;
  for (size_t n = 0; n <= in.size(); ++n) {
    SocksGreeting g;
    size_t consumed = 12345;
    const SocksParse p = ParseSocksGreeting(in.first(n), consumed, g);
    if (p == SocksParse::kNeedMore) {
      if (decided || consumed != 0) __builtin_trap();
      continue;
    }
    if (p == SocksParse::kOk && (consumed < 2 || consumed > n)) __builtin_trap();
    if (decided && (p != verdict || consumed != verdict_consumed)) __builtin_trap();
    decided = true;
    verdict = p;
    verdict_consumed = consumed;
  }
}

void CheckRequest(std::span<const uint8_t> in) {
  bool decided = false;
  SocksParse verdict = SocksParse::kNeedMore;
  size_t verdict_consumed = 0;
  SocksReply verdict_refusal = SocksReply::kSucceeded;
  SocksRequest request;
  for (size_t n = 0; n <= in.size(); ++n) {
    size_t consumed = 12345;
    SocksReply refusal = SocksReply::kSucceeded;
    const SocksParse p = ParseSocksRequest(in.first(n), consumed, request, refusal);
    if (p == SocksParse::kNeedMore) {
      if (decided || consumed != 0) __builtin_trap();
      continue;
    }
    if (p == SocksParse::kOk &&
        (consumed < 8 || consumed > n || consumed > kMaxSocksRequestBytes ||
         request.command != kSocksCommandConnect || request.target.port == 0)) {
      __builtin_trap();
    }
    if (p == SocksParse::kBad && refusal == SocksReply::kSucceeded) __builtin_trap();
    if (decided && (p != verdict || consumed != verdict_consumed ||
                    (p == SocksParse::kBad && refusal != verdict_refusal))) {
      __builtin_trap();
    }
    decided = true;
    verdict = p;
    verdict_consumed = consumed;
    verdict_refusal = refusal;
  }
  if (verdict != SocksParse::kOk) return;
  std::array<uint8_t, kMaxSocksRequestBytes> built{};
  const size_t size = BuildSocksRequest(request, built);
  if (size == 0) __builtin_trap();
  SocksRequest again;
  size_t consumed = 0;
  SocksReply refusal = SocksReply::kSucceeded;
  if (ParseSocksRequest(std::span<const uint8_t>(built).first(size), consumed, again, refusal) !=
          SocksParse::kOk ||
      consumed != size || again.target.kind != request.target.kind ||
      again.target.port != request.target.port) {
    __builtin_trap();
  }
  // Hostnames come back as sent; literals as the same address (IPv6 text may be canonicalized).
  if (request.target.kind == BeginTargetKind::kHostname
          ? again.target.host != request.target.host
          : IpAddress::Parse(again.target.host) != IpAddress::Parse(request.target.host)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 600) return 0;
  const std::span<const uint8_t> in(data + 1, size - 1);
  if (data[0] & 1) {
    CheckGreeting(in);
  } else {
    CheckRequest(in);
  }
  return 0;
}
