// Tor's fixed SENDME windows (network.md §5), end to end between the client and the hop that
// packages or delivers the DATA. Pure counters: one compare per cell.
//
//   circuit: starts at 1000, a circuit SENDME (stream_id 0) adds 100, due every 100th DATA
//   stream:  starts at 500, a stream SENDME adds 50, due every 50 cells delivered
//
// A SENDME that would raise a package window above its start, and DATA beyond a deliver
// window, are protocol errors (the circuit is destroyed): the false returns below.
#ifndef RELAYCELL_NET_STREAM_FLOW_WINDOW_H_
#define RELAYCELL_NET_STREAM_FLOW_WINDOW_H_

#include <cstdint>

namespace relaycell::net {

inline constexpr uint16_t kCircuitWindowStart = 1000;
inline constexpr uint16_t kCircuitWindowIncrement = 100;
inline constexpr uint16_t kStreamWindowStart = 500;
inline constexpr uint16_t kStreamWindowIncrement = 50;

// The sender's side: how many more DATA cells it may send.
class PackageWindow {
 public:
  PackageWindow(uint16_t start, uint16_t increment)
      : start_(start), increment_(increment), value_(start) {}

  bool CanSend() const { return value_ > 0; }
  // One DATA cell sent. Precondition: CanSend() (an empty window stays empty).
  void OnSent() {
    if (value_ > 0) --value_;
  }
  // A SENDME arrived: the window grows by the increment. False (window unchanged) if that would
  // take it above its start: a protocol error.
  bool OnSendme() {
    if (start_ - value_ < increment_) return false;
    value_ = static_cast<uint16_t>(value_ + increment_);
    return true;
  }
  uint16_t value() const { return value_; }

 private:
  uint16_t start_, increment_, value_;
};

// The receiver's side: how many more DATA cells the peer may send before our next SENDME.
class DeliverWindow {
 public:
  DeliverWindow(uint16_t start, uint16_t increment)
      : start_(start), increment_(increment), value_(start) {}

  // One DATA cell received. False (window unchanged) if the window was empty: DATA beyond the
  // window, a protocol error.
  bool OnData() {
    if (value_ == 0) return false;
    --value_;
    return true;
  }
  // A SENDME is owed: `increment` cells arrived since the window was last full (true right
  // after the 100th / 50th cell, and until OnSendmeSent).
  bool SendmeDue() const { return start_ - value_ >= increment_; }
  // We sent a SENDME. Precondition: SendmeDue().
  void OnSendmeSent() {
    if (SendmeDue()) value_ = static_cast<uint16_t>(value_ + increment_);
  }
  uint16_t value() const { return value_; }

 private:
  uint16_t start_, increment_, value_;
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_STREAM_FLOW_WINDOW_H_
