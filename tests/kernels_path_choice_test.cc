// The choice of kernel path: every family calibrates to one of its runnable paths, the fastest
// of its figures; RELAYCELL_FORCE_PATH overrides it and a bad value is refused by every
// command with exit 2; a thread override is scoped.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernels/cpu_features.h"
#include "kernels/kernel_path.h"
#include "kernels/path_choice.h"

namespace relaycell::kernels {
namespace {

constexpr KernelFamily kFamilies[] = {KernelFamily::kAesRounds, KernelFamily::kAezCore,
                                      KernelFamily::kAezHash,   KernelFamily::kGf256,
                                      KernelFamily::kPolyval,   KernelFamily::kOtpXor};

TEST(KernelPath, NamesRoundTrip) {
  for (KernelFamily family : kFamilies) {
    EXPECT_EQ(ParseFamily(FamilyName(family)), family);
    for (KernelPath path : RunnablePaths(family)) {
      EXPECT_EQ(KernelPath::Parse(path.Name()), path) << path.Name();
    }
  }
  EXPECT_EQ(KernelPath::Parse("vaes512"), KernelPath::Raw(RawKernel::kVaes512));
  EXPECT_FALSE(KernelPath::Parse("vaes1024").has_value());
  EXPECT_FALSE(ParseFamily("aez").has_value());
}

TEST(PathChoice, EveryFamilyPicksItsFastestRunnablePath) {
  if (std::getenv("RELAYCELL_FORCE_PATH") != nullptr) GTEST_SKIP() << "paths forced from outside";
  for (KernelFamily family : kFamilies) {
    const FamilyChoice& choice = Choice(family);
    SCOPED_TRACE(std::string(FamilyName(family)));
    EXPECT_TRUE(PathRunnable(family, choice.chosen));
    EXPECT_FALSE(choice.forced);
    ASSERT_EQ(choice.candidates.size(), RunnablePaths(family).size());
    double best = 0, chosen_figure = -1;
    for (const PathCandidate& c : choice.candidates) {
      if (c.name == "scalar" || c.name == "emu128") {
        EXPECT_FALSE(c.figure.has_value()) << "the portable fallback is ruled out, not timed";
        continue;
      }
      ASSERT_TRUE(c.figure.has_value()) << c.name;
      EXPECT_GT(*c.figure, 0) << c.name;
      best = std::max(best, *c.figure);
      if (c.path == choice.chosen) chosen_figure = *c.figure;
    }
    EXPECT_EQ(chosen_figure, best);
    EXPECT_EQ(ActivePath(family), choice.chosen);
  }
}

TEST(PathChoice, WidePathsAreCandidatesWhereTheCpuHasThem) {
  const auto has = [](KernelFamily f, RawKernel r) { return PathRunnable(f, KernelPath::Raw(r)); };
  const CpuFeatures& cpu = Cpu();
  EXPECT_EQ(has(KernelFamily::kAezCore, RawKernel::kVaes512), cpu.Avx512Usable() && cpu.vaes);
  EXPECT_EQ(has(KernelFamily::kAezCore, RawKernel::kVaes256), cpu.Avx2Usable() && cpu.vaes);
  EXPECT_EQ(has(KernelFamily::kGf256, RawKernel::kGfni512), cpu.Avx512Usable() && cpu.gfni);
  EXPECT_FALSE(has(KernelFamily::kAezCore, RawKernel::kGfni256));  // not that family's kernel
  EXPECT_FALSE(has(KernelFamily::kOtpXor, RawKernel::kVaes256));
}

TEST(PathChoice, ThreadOverrideIsScoped) {
  const KernelPath before = ActivePath(KernelFamily::kAezCore);
  const KernelPath other = RunnablePaths(KernelFamily::kAezCore).back();
  {
    ScopedPathOverride force(KernelFamily::kAezCore, other);
    EXPECT_EQ(ActivePath(KernelFamily::kAezCore), other);
    EXPECT_EQ(ActivePath(KernelFamily::kGf256), Choice(KernelFamily::kGf256).chosen);
  }
  EXPECT_EQ(ActivePath(KernelFamily::kAezCore), before);
}

// Runs the relaycell binary with RELAYCELL_FORCE_PATH=force; returns its exit code and stdout.
int RunWithForce(const std::string& force, const std::string& args, std::string& out) {
  const std::string command =
      "RELAYCELL_FORCE_PATH='" + force + "' " RELAYCELL_BINARY " " + args + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  out.clear();
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ForcePath, VersionJsonShowsTheForcedPath) {
  const KernelPath last = RunnablePaths(KernelFamily::kAezCore).back();
  const KernelPath gf = RunnablePaths(KernelFamily::kGf256).front();
  std::string out;
  ASSERT_EQ(RunWithForce("aez_core:" + last.Name() + ",gf256:" + gf.Name(), "version --json", out),
            0);
  const auto doc = nlohmann::json::parse(out);
  EXPECT_TRUE(doc["version"].is_string());
  EXPECT_TRUE(doc["cpu"].is_string());
  EXPECT_EQ(doc["paths"]["aez_core"]["chosen"], last.Name());
  EXPECT_EQ(doc["paths"]["gf256"]["chosen"], gf.Name());
  EXPECT_TRUE(doc["paths"]["aez_core"]["candidates"][last.Name()].is_null());  // forced: no figure
  for (const char* family : {"aes_rounds", "aez_core", "aez_hash", "gf256", "polyval", "otp_xor"}) {
    ASSERT_TRUE(doc["paths"].contains(family)) << family;
    EXPECT_TRUE(doc["paths"][family]["chosen"].is_string());
    EXPECT_FALSE(doc["paths"][family]["candidates"].empty());
  }
  EXPECT_TRUE(doc["paths"]["aes_rounds"]["candidates"].begin()->is_number());  // calibrated
}

TEST(ForcePath, BadValuesExitTwoForEveryCommand) {
  std::string out;
  for (const char* args : {"version", "version --json", "kat aez /dev/null", "bench --help"}) {
    EXPECT_EQ(RunWithForce("aez_core:vaes1024", args, out), 2) << args;
    EXPECT_EQ(RunWithForce("aez:vaes256", args, out), 2) << args;
    EXPECT_EQ(RunWithForce("aez_core", args, out), 2) << args;
    EXPECT_EQ(RunWithForce("aez_core:gfni256", args, out), 2) << args;  // another family's kernel
  }
  for (RawKernel raw : {RawKernel::kVaes256, RawKernel::kVaes512}) {
    if (RawKernelUsable(raw)) continue;  // a path this CPU cannot run is refused the same way
    EXPECT_EQ(RunWithForce("aez_core:" + KernelPath::Raw(raw).Name(), "version", out), 2);
  }
}

}  // namespace
}  // namespace relaycell::kernels
