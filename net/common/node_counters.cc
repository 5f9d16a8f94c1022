#include "net/common/node_counters.h"

#include <sstream>

namespace relaycell::net {

uint64_t NodeCounters::Get(std::string_view name) const {
  const auto it = plain_.find(name);
  return it == plain_.end() ? 0 : it->second;
}

void NodeCounters::Count(std::string_view family, std::string_view reason, uint64_t n) {
  auto it = families_.find(family);
  if (it == families_.end())
    it = families_.emplace(std::string(family), decltype(it->second){}).first;
  auto entry = it->second.find(reason);
  if (entry == it->second.end()) entry = it->second.emplace(std::string(reason), 0).first;
  entry->second += n;
}

uint64_t NodeCounters::Get(std::string_view family, std::string_view reason) const {
  const auto it = families_.find(family);
  if (it == families_.end()) return 0;
  const auto entry = it->second.find(reason);
  return entry == it->second.end() ? 0 : entry->second;
}

std::string NodeCounters::Text() const {
  std::ostringstream out;
  for (const auto& [name, value] : plain_) out << name << ' ' << value << '\n';
  for (const auto& [family, reasons] : families_)
    for (const auto& [reason, value] : reasons)
      out << family << '.' << reason << ' ' << value << '\n';
  return out.str();
}

std::string NodeCounters::Prometheus() const {
  std::ostringstream out;
  for (const auto& [name, value] : plain_) {
    out << "# TYPE relaycell_" << name << " counter\n"
        << "relaycell_" << name << ' ' << value << '\n';
  }
  for (const auto& [family, reasons] : families_) {
    out << "# TYPE relaycell_" << family << " counter\n";
    for (const auto& [reason, value] : reasons)
      out << "relaycell_" << family << "{reason=\"" << reason << "\"} " << value << '\n';
  }
  return out.str();
}

}  // namespace relaycell::net
