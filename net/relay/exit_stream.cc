#include "net/relay/exit_stream.h"

#include <utility>
#include <vector>

#include "net/link/link_dialer.h"

namespace relaycell::net {

ExitStream::ExitStream(asio::io_context& io, ExitStreamHost& host, CircuitKey circuit,
                       uint16_t stream_id, size_t max_chunk)
    : io_(io),
      host_(host),
      circuit_(circuit),
      stream_id_(stream_id),
      max_chunk_(max_chunk),
      alive_(std::make_shared<bool>(true)) {}

ExitStream::~ExitStream() {
  *alive_ = false;
  if (connecting_) {
    std::error_code ec;
    connecting_->close(ec);
  }
  if (pump_) pump_->Detach();
}

void ExitStream::Begin(const BeginTarget& target, const ExitPolicy& policy,
                       std::chrono::milliseconds connect_timeout) {
  asio::co_spawn(io_, Connect(target, policy, connect_timeout, alive_), asio::detached);
}

asio::awaitable<void> ExitStream::Connect(BeginTarget target, ExitPolicy policy,
                                          std::chrono::milliseconds timeout,
                                          std::shared_ptr<bool> alive) {
  std::error_code ec;
  std::vector<asio::ip::tcp::endpoint> endpoints;
  if (target.kind == BeginTargetKind::kHostname) {
    asio::ip::tcp::resolver resolver(io_);
    auto results = co_await resolver.async_resolve(target.host, std::to_string(target.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;
    if (ec || results.empty()) {
      host_.OnStreamFailed(*this, EndReason::kResolveFailed);
      co_return;
    }
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  } else {
    const auto address = IpAddress::Parse(target.host);
    if (!address) {
      host_.OnStreamFailed(*this, EndReason::kTorProtocol);
      co_return;
    }
    endpoints.emplace_back(ToAsioAddress(*address), target.port);
  }
  // Every address the name resolves to must pass: a name that mixes allowed and refused
  // addresses is refused whole, so the policy never depends on which one answers.
  for (const auto& endpoint : endpoints) {
    if (!policy.Allows(FromAsioAddress(endpoint.address()), endpoint.port())) {
      host_.OnStreamFailed(*this, EndReason::kExitPolicy);
      co_return;
    }
  }
  EndReason failure = EndReason::kConnectRefused;
  for (const auto& endpoint : endpoints) {
    connecting_ = std::make_shared<asio::ip::tcp::socket>(io_);
    auto socket = connecting_;
    asio::steady_timer timer(io_);
    timer.expires_after(timeout);
    timer.async_wait([socket](std::error_code timer_ec) {
      if (!timer_ec) {
        std::error_code ignored;
        socket->close(ignored);
      }
    });
    co_await socket->async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
    timer.cancel();
    if (!*alive) co_return;
    if (!ec) {
      connecting_.reset();
      pump_ = std::make_shared<SocketPump>(std::move(*socket), *this, max_chunk_);
      pump_->Write(early_data_);
      early_data_.clear();
      if (close_requested_) pump_->CloseAfterWrites();
      host_.OnStreamConnected(*this);
      if (*alive && pump_) pump_->Start();
      co_return;
    }
    failure =
        ec == asio::error::operation_aborted ? EndReason::kTimeout : EndReason::kConnectRefused;
  }
  connecting_.reset();
  host_.OnStreamFailed(*this, failure);
}

void ExitStream::Write(std::span<const uint8_t> data) {
  if (pump_) {
    pump_->Write(data);
  } else {
    // DATA that arrived before the connection was made (bounded by the stream window).
    early_data_.insert(early_data_.end(), data.begin(), data.end());
  }
}

void ExitStream::Wake() {
  if (pump_) pump_->Wake();
}

void ExitStream::CloseAfterWrites() {
  close_requested_ = true;
  if (pump_) pump_->CloseAfterWrites();
}

bool ExitStream::OnPumpData(SocketPump&, std::span<const uint8_t> data) {
  return host_.OnStreamData(*this, data);
}
void ExitStream::OnPumpEof(SocketPump&) { host_.OnStreamEof(*this); }
void ExitStream::OnPumpWritten(SocketPump&) { host_.OnStreamWritten(*this); }
size_t ExitStream::PumpCellsAllowed(const SocketPump&) const {
  return host_.StreamCellsAllowed(*this);
}

}  // namespace relaycell::net
