// A node's counters: fixed ones by name, and per-reason families (DESTROYs by reason, protocol
// errors by reason, dropped cells by reason). Printed as text (SIGUSR1, shutdown) and as a
// Prometheus text page. Network thread only.
#ifndef RELAYCELL_NET_COMMON_NODE_COUNTERS_H_
#define RELAYCELL_NET_COMMON_NODE_COUNTERS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace relaycell::net {

class NodeCounters {
 public:
  // A counter by name, created at zero on first use ("links_opened").
  uint64_t& operator[](std::string_view name) { return plain_[std::string(name)]; }
  uint64_t Get(std::string_view name) const;
  // One of a family: Count("destroys", "protocol") is relaycell_destroys{reason="protocol"}.
  void Count(std::string_view family, std::string_view reason, uint64_t n = 1);
  uint64_t Get(std::string_view family, std::string_view reason) const;

  // "name value" lines, families as "family.reason value".
  std::string Text() const;
  // Prometheus text exposition format 0.0.4, every metric prefixed "relaycell_".
  std::string Prometheus() const;

 private:
  std::map<std::string, uint64_t, std::less<>> plain_;
  std::map<std::string, std::map<std::string, uint64_t, std::less<>>, std::less<>> families_;
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_COMMON_NODE_COUNTERS_H_
