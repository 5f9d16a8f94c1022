// SocketPump (net/stream/socket_pump.h) over a real loopback TCP connection: each read takes
// no more cells' worth than the host allows, the host gets the bytes one cell's worth at a
// time and in order, and bytes it refuses are held and offered again at Wake().
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <asio.hpp>

#include "net/stream/socket_pump.h"

namespace relaycell::net {
namespace {

using Tcp = asio::ip::tcp;
constexpr size_t kChunk = 498;

// Takes what the windows allow: `allowed` cells, counted down per cell taken.
struct WindowedHost final : SocketPumpHost {
  size_t allowed = 0;
  size_t refuse_after = SIZE_MAX;  // refuse every cell once this many were taken
  std::vector<uint8_t> taken;
  std::vector<size_t> slices;
  bool eof = false;

  bool OnPumpData(SocketPump&, std::span<const uint8_t> data) override {
    if (slices.size() >= refuse_after || allowed == 0) return false;
    slices.push_back(data.size());
    taken.insert(taken.end(), data.begin(), data.end());
    --allowed;
    return true;
  }
  void OnPumpEof(SocketPump&) override { eof = true; }
  void OnPumpWritten(SocketPump&) override {}
  size_t PumpCellsAllowed(const SocketPump&) const override {
    return slices.size() >= refuse_after ? 0 : allowed;
  }
};

class SocketPumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Tcp::acceptor acceptor(io_, Tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    writer_.connect(acceptor.local_endpoint());
    reader_ = std::make_unique<Tcp::socket>(acceptor.accept());
    for (size_t i = 0; i < source_.size(); ++i) source_[i] = uint8_t(i * 131 + i / 251);
  }
  // Runs the loop until `done` or two seconds pass.
  template <class F>
  void RunUntil(F done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(5));
    }
  }
  void WriteAll() { asio::write(writer_, asio::buffer(source_)); }
  // The whole source written, then a pump on the other end started for `host`.
  std::shared_ptr<SocketPump> WriteAllAndStartPump(WindowedHost& host) {
    WriteAll();
    auto pump = std::make_shared<SocketPump>(std::move(*reader_), host, kChunk);
    pump->Start();
    return pump;
  }

  asio::io_context io_;
  Tcp::socket writer_{io_};
  std::unique_ptr<Tcp::socket> reader_;
  std::vector<uint8_t> source_ = std::vector<uint8_t>(100 * kChunk + 77);
};

TEST_F(SocketPumpTest, ReadsNoMoreCellsThanAllowedAndHandsOverCellSizedSlicesInOrder) {
  WindowedHost host;
  host.allowed = 5;
  auto pump = WriteAllAndStartPump(host);
  RunUntil([&] { return host.allowed == 0; });
  io_.restart();
  io_.run_for(std::chrono::milliseconds(50));  // nothing more may come while the window is shut
  ASSERT_EQ(host.slices.size(), 5u);
  EXPECT_EQ(host.taken.size(), 5 * kChunk);  // the data was there: whole cells, never more
  for (size_t s : host.slices) EXPECT_LE(s, kChunk);

  // The window opens wide: the rest arrives, in batches of at most kReadCells cells.
  host.allowed = 1000;
  pump->Wake();
  RunUntil([&] { return host.taken.size() == source_.size(); });
  ASSERT_EQ(host.taken, source_);
  for (size_t s : host.slices) EXPECT_LE(s, kChunk);
  EXPECT_GE(host.slices.size(), source_.size() / kChunk + 1);
  pump->Detach();
}

// One completion handler, one read: the cells it brought reach the host together (the relay
// then hands them to its engine as one batch), not one socket read per cell.
TEST_F(SocketPumpTest, OneReadHandsOverManyCells) {
  WindowedHost host;
  host.allowed = 1000;
  auto pump = WriteAllAndStartPump(host);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (host.slices.empty() && std::chrono::steady_clock::now() < deadline) {
    io_.restart();
    io_.run_one_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT(host.slices.size(), 1u);
  EXPECT_LE(host.slices.size(), SocketPump::kReadCells);
  pump->Detach();
}

TEST_F(SocketPumpTest, RefusedBytesAreHeldAndOfferedAgainAtWake) {
  WindowedHost host;
  host.allowed = 1000;
  host.refuse_after = 3;  // the circuit window closes while a read of many cells is in flight
  auto pump = WriteAllAndStartPump(host);
  RunUntil([&] { return host.slices.size() == 3; });
  io_.restart();
  io_.run_for(std::chrono::milliseconds(50));
  ASSERT_EQ(host.slices.size(), 3u);

  host.refuse_after = SIZE_MAX;
  pump->Wake();
  RunUntil([&] { return host.taken.size() == source_.size(); });
  EXPECT_EQ(host.taken, source_);  // nothing lost or repeated across the refusal
  pump->Detach();
}

TEST_F(SocketPumpTest, PeerCloseIsReportedAfterTheLastBytes) {
  WindowedHost host;
  host.allowed = 1000;
  WriteAll();
  writer_.shutdown(Tcp::socket::shutdown_send);  // after the data: the pump sees it last
  auto pump = std::make_shared<SocketPump>(std::move(*reader_), host, kChunk);
  pump->Start();
  RunUntil([&] { return host.eof; });
  EXPECT_TRUE(host.eof);
  EXPECT_EQ(host.taken, source_);
  pump->Detach();
}

}  // namespace
}  // namespace relaycell::net
