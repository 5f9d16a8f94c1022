// relaycell bench [GROUP...] [--json] [--min-time S] [--circuits N] [--hops N] [--cells N]
//                 [--workers N] [--suite aez|tor1|all] [--seconds S]
#include <x86intrin.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "circuit/cell.h"
#include "kernels/path_choice.h"
#include "kernels/targets.h"
#include "engine/suite/suite_registry.h"
#include "tools/bench.h"
#include "tools/command.h"

namespace relaycell::tools {
namespace {

std::vector<BenchGroup>& Groups() {
  static std::vector<BenchGroup> groups;
  return groups;
}

}  // namespace

bool RegisterBenchGroup(const BenchGroup& group) {
  Groups().push_back(group);
  return true;
}

double TscTicksPerNs() {
  static const double ticks_per_ns = [] {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const uint64_t c0 = __rdtsc();
    while (Clock::now() - t0 < std::chrono::milliseconds(20)) {
    }
    const uint64_t c1 = __rdtsc();
    const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    return double(c1 - c0) / ns;
  }();
  return ticks_per_ns;
}

namespace {

constexpr std::string_view kUsage =
    "relaycell bench [GROUP...] [--json] [--min-time S] [--seconds S] [--circuits N] [--hops N]\n"
    "                [--cells N] [--workers N] [--suite aez|tor1|all]";

int RunBench(Args args);
const Command kBenchCommand{"bench",
                            "measure throughput (groups: kernels, aez, cells, rekey, engine, dske)",
                            kUsage, RunBench};

std::string CpuName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

template <class T>
bool ParseNumber(std::string_view text, T& out) {
  if constexpr (std::is_floating_point_v<T>) {
    try {
      size_t used = 0;
      out = static_cast<T>(std::stod(std::string(text), &used));
      return used == text.size() && out >= 0;
    } catch (...) {
      return false;
    }
  } else {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
  }
}

void PrintTable(const std::vector<BenchResult>& results) {
  std::printf("%-34s %14s  %-12s %s\n", "benchmark", "value", "unit", "vs (same run; >1 = faster)");
  std::printf("%s\n", std::string(96, '-').c_str());
  for (const BenchResult& r : results) {
    std::string vs;
    for (const auto& [baseline, ratio] : r.vs) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s%s %.2fx", vs.empty() ? "" : ", ", baseline.c_str(), ratio);
      vs += buf;
    }
    if (!r.note.empty()) vs += (vs.empty() ? "" : "  ") + std::string("(") + r.note + ")";
    std::printf("%-34s %14.3f  %-12s %s\n", r.name.c_str(), r.value, r.unit.c_str(), vs.c_str());
  }
}

// The main job's table, when the engine group ran: one row per suite and operation, in the
// units a relay operator compares (payload = the 509-byte cell body).
// The engine table: one row per suite and operation, with aez's speed-up over each other suite.
void PrintEngineTable(const std::vector<BenchResult>& results, const BenchConfig& config) {
  auto find = [&](const std::string& name) -> const BenchResult* {
    for (const BenchResult& r : results) {
      if (r.name == name) return &r;
    }
    return nullptr;
  };
  static constexpr const char* kOperations[] = {"peel", "originate", "deliver"};
  std::vector<std::string> suites, others;
  for (const CellSuite* suite : AllSuites()) {
    bool any = false;
    for (const char* op : kOperations) {
      any |= find(std::string("engine.") + suite->name() + "." + op) != nullptr;
    }
    if (!any) continue;
    suites.emplace_back(suite->name());
    if (suites.back() != "aez") others.push_back(suites.back());
  }
  if (suites.empty()) return;
  std::printf(
      "engine: %zu circuits, %d hops, ns per cell on one core (peel: middle relay, "
      "cells not for it; originate/deliver: client, all hops)\n\n",
      config.circuits, config.hops);
  std::printf("%-6s %-10s %10s %10s %10s", "suite", "operation", "ns/cell", "Mcells/s", "Gbit/s");
  for (const std::string& other : others) std::printf(" %10s", ("aez/" + other).c_str());
  std::printf("\n%s\n", std::string(49 + 11 * others.size(), '-').c_str());
  for (const std::string& suite : suites) {
    for (const char* op : kOperations) {
      const BenchResult* r = find("engine." + suite + "." + op);
      if (r == nullptr || r->value <= 0) continue;
      std::printf("%-6s %-10s %10.1f %10.2f %10.2f", suite.c_str(), op, r->value, 1e3 / r->value,
                  kCellBodyBytes * 8.0 / r->value);
      const BenchResult* aez = find(std::string("engine.aez.") + op);
      for (const std::string& other : others) {
        const BenchResult* o = find("engine." + other + "." + op);
        char ratio[32] = "";
        if (suite == "aez" && aez != nullptr && o != nullptr && aez->value > 0 && o->value > 0) {
          std::snprintf(ratio, sizeof ratio, "%.2fx", o->value / aez->value);
        }
        std::printf(" %10s", ratio);
      }
      std::printf("\n");
    }
  }
  std::printf("\n");
}

void PrintJson(const std::vector<BenchResult>& results) {
  nlohmann::ordered_json doc;  // keys in the documented order: cpu, targets, results
  doc["cpu"] = CpuName();
  doc["targets"] = kernels::SupportedTargetNames();
  doc["results"] = nlohmann::ordered_json::array();
  for (const BenchResult& r : results) {
    nlohmann::ordered_json vs = nlohmann::ordered_json::object();
    for (const auto& [baseline, ratio] : r.vs) vs[baseline] = ratio;
    doc["results"].push_back({{"name", r.name}, {"value", r.value}, {"unit", r.unit}, {"vs", vs}});
  }
  std::printf("%s\n", doc.dump(2).c_str());
}

int RunBench(Args args) {
  BenchConfig config;
  bool json = false;
  std::vector<std::string> wanted;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&](auto& out) {
      if (i + 1 >= args.size() || !ParseNumber(args[i + 1], out)) return false;
      ++i;
      return true;
    };
    if (a == "--json") {
      json = true;
    } else if (a == "--min-time" || a == "--seconds") {
      if (!value(config.min_time_s))
        return UsageError(kBenchCommand, std::string(a) + " needs seconds");
    } else if (a == "--circuits") {
      if (!value(config.circuits) || config.circuits == 0)
        return UsageError(kBenchCommand, "--circuits needs a positive count");
    } else if (a == "--hops") {
      if (!value(config.hops) || config.hops < 1 || config.hops > 8)
        return UsageError(kBenchCommand, "--hops needs 1..8");
    } else if (a == "--cells") {
      if (!value(config.cells)) return UsageError(kBenchCommand, "--cells needs a count");
    } else if (a == "--workers") {
      if (!value(config.workers) || config.workers < 0)
        return UsageError(kBenchCommand, "--workers needs a count");
    } else if (a == "--suite") {
      if (i + 1 >= args.size()) return UsageError(kBenchCommand, "--suite needs aez, tor1 or all");
      config.suite = std::string(args[++i]);
      if (config.suite != "aez" && config.suite != "tor1" && config.suite != "all")
        return UsageError(kBenchCommand, "--suite needs aez, tor1 or all");
    } else if (!a.empty() && a[0] == '-') {
      return UsageError(kBenchCommand, "unknown option " + std::string(a));
    } else {
      wanted.emplace_back(a);
    }
  }
  auto groups = Groups();
  std::sort(groups.begin(), groups.end(),
            [](const BenchGroup& a, const BenchGroup& b) { return a.order < b.order; });
  for (const std::string& name : wanted) {
    if (std::none_of(groups.begin(), groups.end(),
                     [&](const BenchGroup& g) { return g.name == name; })) {
      return UsageError(kBenchCommand, "unknown group '" + name + "'");
    }
  }
  // No group named: the main job, the engine group in full and a short summary of the rest.
  const bool default_run = wanted.empty();
  const bool progress = !json && isatty(STDERR_FILENO);
  std::vector<BenchResult> results;
  for (const BenchGroup& group : groups) {
    const bool named = std::find(wanted.begin(), wanted.end(), group.name) != wanted.end();
    if (!default_run && !named) continue;
    BenchConfig group_config = config;
    if (default_run && group.name != "engine") {
      group_config.quick = true;
      group_config.min_time_s = std::min(config.min_time_s, 0.1);
    }
    if (progress)
      std::fprintf(stderr, "\rrunning %-10.*s", int(group.name.size()), group.name.data());
    group.run(group_config, results);
  }
  if (progress) std::fprintf(stderr, "\r%30s\r", "");
  if (json) {
    PrintJson(results);
  } else {
    std::printf("relaycell bench on %s (Highway target %s; kernel paths:", CpuName().c_str(),
                kernels::ChosenTargetName().c_str());
    for (size_t i = 0; i < kernels::kKernelFamilies; ++i) {
      const auto family = static_cast<kernels::KernelFamily>(i);
      std::printf(" %s=%s", std::string(kernels::FamilyName(family)).c_str(),
                  kernels::ActivePath(family).Name().c_str());
    }
    std::printf(")\n\n");
    PrintEngineTable(results, config);
    PrintTable(results);
  }
  return kExitOk;
}

const bool registered = RegisterCommand(kBenchCommand);

}  // namespace
}  // namespace relaycell::tools
