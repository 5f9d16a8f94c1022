// Tor's fixed SENDME windows (network.md §5).
#include <gtest/gtest.h>

#include "net/stream/flow_window.h"

namespace relaycell::net {
namespace {

TEST(PackageWindow, ThousandDataThenStopsAndSendmeRestoresHundred) {
  PackageWindow w(kCircuitWindowStart, kCircuitWindowIncrement);
  EXPECT_EQ(w.value(), 1000);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(w.CanSend()) << i;
    w.OnSent();
  }
  EXPECT_FALSE(w.CanSend());
  EXPECT_EQ(w.value(), 0);
  w.OnSent();  // precondition broken: stays empty, never wraps
  EXPECT_EQ(w.value(), 0);

  EXPECT_TRUE(w.OnSendme());
  EXPECT_EQ(w.value(), 100);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(w.CanSend());
    w.OnSent();
  }
  EXPECT_FALSE(w.CanSend());
}

TEST(PackageWindow, SendmeAboveStartIsAnError) {
  PackageWindow fresh(kCircuitWindowStart, kCircuitWindowIncrement);
  EXPECT_FALSE(fresh.OnSendme());  // a hop that sent no DATA
  EXPECT_EQ(fresh.value(), 1000);

  PackageWindow w(kCircuitWindowStart, kCircuitWindowIncrement);
  for (int i = 0; i < 99; ++i) w.OnSent();
  EXPECT_FALSE(w.OnSendme());  // 901 + 100 > 1000
  EXPECT_EQ(w.value(), 901);
  w.OnSent();
  EXPECT_TRUE(w.OnSendme());  // 900 + 100 == 1000
  EXPECT_FALSE(w.OnSendme());

  PackageWindow stream(kStreamWindowStart, kStreamWindowIncrement);
  EXPECT_FALSE(stream.OnSendme());
  for (int i = 0; i < 500; ++i) stream.OnSent();
  EXPECT_FALSE(stream.CanSend());
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(stream.OnSendme()) << i;
  EXPECT_EQ(stream.value(), 500);
  EXPECT_FALSE(stream.OnSendme());
}

TEST(DeliverWindow, CircuitSendmeDueAtExactlyTheHundredth) {
  DeliverWindow w(kCircuitWindowStart, kCircuitWindowIncrement);
  for (int round = 0; round < 3; ++round) {
    for (int i = 1; i <= 100; ++i) {
      ASSERT_FALSE(w.SendmeDue()) << round << " " << i;
      ASSERT_TRUE(w.OnData());
    }
    EXPECT_TRUE(w.SendmeDue()) << round;
    w.OnSendmeSent();
    EXPECT_FALSE(w.SendmeDue());
    EXPECT_EQ(w.value(), 1000);
  }
}

TEST(DeliverWindow, StreamSendmeDueAtExactlyTheFiftieth) {
  DeliverWindow w(kStreamWindowStart, kStreamWindowIncrement);
  for (int i = 1; i < 50; ++i) {
    ASSERT_TRUE(w.OnData());
    ASSERT_FALSE(w.SendmeDue()) << i;
  }
  ASSERT_TRUE(w.OnData());
  EXPECT_TRUE(w.SendmeDue());
  // Not sent yet: stays due, and still due after more cells.
  ASSERT_TRUE(w.OnData());
  EXPECT_TRUE(w.SendmeDue());
  w.OnSendmeSent();
  EXPECT_EQ(w.value(), 499);
  EXPECT_FALSE(w.SendmeDue());
  w.OnSendmeSent();  // not due: no change
  EXPECT_EQ(w.value(), 499);
}

TEST(DeliverWindow, DataBeyondTheWindowIsAnError) {
  DeliverWindow w(kCircuitWindowStart, kCircuitWindowIncrement);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(w.OnData()) << i;
  EXPECT_EQ(w.value(), 0);
  EXPECT_FALSE(w.OnData());  // the 1001st without a SENDME
  EXPECT_EQ(w.value(), 0);
  w.OnSendmeSent();
  EXPECT_EQ(w.value(), 100);
  EXPECT_TRUE(w.OnData());

  DeliverWindow stream(kStreamWindowStart, kStreamWindowIncrement);
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(stream.OnData());
  EXPECT_FALSE(stream.OnData());
}

TEST(FlowWindows, SenderAndReceiverInStep) {
  // A sender that sends whenever it can and a receiver that sends SENDME whenever due never
  // trip either side's error, and never stall.
  PackageWindow sender(kCircuitWindowStart, kCircuitWindowIncrement);
  DeliverWindow receiver(kCircuitWindowStart, kCircuitWindowIncrement);
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(sender.CanSend()) << i;
    sender.OnSent();
    ASSERT_TRUE(receiver.OnData()) << i;
    if (receiver.SendmeDue()) {
      receiver.OnSendmeSent();
      ASSERT_TRUE(sender.OnSendme()) << i;
    }
  }
  EXPECT_EQ(sender.value(), receiver.value());
}

}  // namespace
}  // namespace relaycell::net
