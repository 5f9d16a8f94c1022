// StackWipeAfterHandler (net/common): the client's single cells, and both nodes' handshakes,
// run on the io_context's thread with no batch to wipe behind them. The probe of
// tests/stack_probe.h runs the same handlers twice with only the keys changed and compares the
// dead stack: nothing may differ once the wipe has run after them, and (so the probe is known
// to see something) without the wipe some kernel path does leave key-dependent bytes.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>
#include <gtest/gtest.h>

#include "engine/suite/aez_layer.h"
#include "engine/suite/relay_format.h"
#include "net/common/stack_wipe_after_handler.h"
#include "tests/stack_probe.h"

namespace relaycell {
namespace {

using testing::kCanProbeStack;
using testing::KeyDependentStackBytesPerPath;
using testing::PathLeftovers;
using testing::ReinstallAezDirections;

// A few single cells, enciphered and deciphered one at a time the way ClientCircuit does, in a
// handler on an io_context; the keys are the only thing that differs from one run to the next.
struct HandlerProbe {
  static constexpr size_t kDirections = 4;
  asio::io_context io;
  net::StackWipeAfterHandler wipe{io};
  bool request_wipe = true;
  std::vector<AezCellDirectionBox> directions = std::vector<AezCellDirectionBox>(kDirections);
  std::array<std::array<uint8_t, kCellBodyBytes>, kDirections> cells{};

  void Install(uint8_t key_salt) {
    ReinstallAezDirections(directions, key_salt);
    for (size_t i = 0; i < kDirections; ++i) {
      for (size_t j = 0; j < kCellBodyBytes; ++j) cells[i][j] = uint8_t(i * 5 + j);
    }
  }
  static void RunHandlers(void* self) {
    auto& p = *static_cast<HandlerProbe*>(self);
    asio::post(p.io, [&p] {
      for (size_t i = 0; i < kDirections; ++i) {
        if (i % 2 == 0) {
          p.directions[i]->Encipher(CellBody(p.cells[i]), i == 2);
        } else {
          p.directions[i]->Decipher(CellBody(p.cells[i]), false);
        }
      }
      if (p.request_wipe) p.wipe.Request();
    });
    p.io.run();
    p.io.restart();
  }
};

TEST(StackWipeAfterHandler, SingleCellHandlersLeaveNoKeyDependentStackOnAnyPath) {
  if (!kCanProbeStack) GTEST_SKIP() << "the stack probe needs x86-64 and no sanitizer";
  HandlerProbe probe;
  const PathLeftovers left = KeyDependentStackBytesPerPath(
      probe, &HandlerProbe::RunHandlers,
      {kernels::KernelFamily::kAezCore, kernels::KernelFamily::kAezHash});
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(left.worst, 0u) << "key-dependent bytes after the wipe (raise "
                               "kHandlerStackWipeBytes): "
                            << left.report;
  EXPECT_EQ(probe.wipe.wipes(), 3 * left.paths) << "one wipe per run of the handler";
}

// Without the wipe the same probe finds what single cells leave, on some path at least.
TEST(StackWipeAfterHandler, WithoutTheWipeSingleCellsLeaveKeyDependentStack) {
  if (!kCanProbeStack) GTEST_SKIP() << "the stack probe needs x86-64 and no sanitizer";
  HandlerProbe probe;
  probe.request_wipe = false;
  const PathLeftovers left = KeyDependentStackBytesPerPath(probe, &HandlerProbe::RunHandlers,
                                                           {kernels::KernelFamily::kAezCore});
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_GT(left.worst, 0u) << "no path leaves anything: the probe cannot tell a wipe happened; "
                            << left.report;
  EXPECT_EQ(probe.wipe.wipes(), 0u);
  std::printf("key-dependent bytes left by unwiped single cells, per path: %s\n",
              left.report.c_str());
}

TEST(StackWipeAfterHandler, RequestsBeforeTheWipeRunsShareOneWipe) {
  asio::io_context io;
  net::StackWipeAfterHandler wipe(io);
  asio::post(io, [&] {
    wipe.Request();
    wipe.Request();
    wipe.Request();
  });
  io.run();
  EXPECT_EQ(wipe.wipes(), 1u);
  io.restart();
  wipe.Request();
  EXPECT_EQ(wipe.wipes(), 1u) << "the wipe runs after the handler, not inside Request";
  io.run();
  EXPECT_EQ(wipe.wipes(), 2u);
}

// A node destroyed while its io_context still has the wipe queued: the wipe runs (or is
// dropped with the io_context) without touching the destroyed object. ASan checks the reads.
TEST(StackWipeAfterHandler, QueuedWipeOutlivesItsOwner) {
  asio::io_context io;
  {
    auto wipe = std::make_unique<net::StackWipeAfterHandler>(io);
    wipe->Request();
  }
  EXPECT_EQ(io.run(), 1u);
}

}  // namespace
}  // namespace relaycell
