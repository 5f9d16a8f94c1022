// `relaycell bench net`: a real onion network on 127.0.0.1. Three `relaycell relay run`
// processes (the last one an exit), one `relaycell client` per suite, and a data server on a
// thread of this process; the bench speaks SOCKS5 to the client and times what comes back.
//   net.<suite>.bulk_3hop         Mbit/s of stream payload, one stream on an open circuit;
//                                 best of 2 rounds, the suites' rounds interleaved
//   net.aez.bulk_3hop_20streams   aggregate Mbit/s of 20 parallel streams (8 per circuit, the
//                                 client's default)
//   net.aez.cells_per_s_relay     cells the middle relay took in during the aez bulk stream
//                                 (its best round), per second of that relay's CPU time
//                                 (capacity per core)
//   net.circuit_build_ms          median build time of fresh 3-hop circuits (client's log)
//   net.ttfb_ms                   median SOCKS connect to first byte, a fresh circuit each
// Every failure unwinds through the owners below (processes, data server, temp dir), so each
// exit path stops what it started, and the group then reports nothing. Runs only when named.
// --suite aez|tor1 keeps that suite's rows (build and TTFB use it); --workers N is passed to
// the relays; --circuits and --min-time size the engine.aez.peel re-measurement.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "circuit/cell.h"
#include "circuit/pipeline/relay_pipeline.h"
#include "engine/suite/suite_registry.h"
#include "net/socks/socks5.h"
#include "tools/bench.h"

namespace relaycell::tools {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kBulkBytes = 64 * kMiB;
constexpr size_t kQuickBulkBytes = 16 * kMiB;
constexpr size_t kParallelStreams = 20;
constexpr size_t kParallelStreamBytes = 8 * kMiB;
// Builds the bulk circuit (and shows its path) before the timed stream.
constexpr size_t kWarmupBytes = 64 << 10;
constexpr int kBulkRounds = 2;       // per suite, interleaved; the fastest kept
constexpr size_t kProbeBytes = 512;  // what a TTFB fetch reads
constexpr size_t kFreshCircuits = 100;
constexpr int kHops = 3;
constexpr int kRelays = 3;  // the last one is the exit
constexpr auto kPortWait = 15s;
constexpr auto kCountersWait = 5s;
constexpr auto kStopGrace = 5s;  // SIGTERM, then SIGKILL
constexpr auto kPollInterval = 20ms;
// A transfer that stalls this long is a failure, not a slow figure.
constexpr int kSocketTimeoutS = 30;
constexpr size_t kPatternBytes = kMiB;  // the data server's stream repeats this
constexpr size_t kReadBytes = 256 << 10;
constexpr double kTorCpuPerCellUs = 4;  // Tor at 1 Gbit/s, per cell per core

// The peel re-measurement when the engine group did not run in this invocation: its
// `engine.aez.peel` workload (RelayPipeline, random forward cells over many circuits).
constexpr size_t kPeelBatch = 64;
constexpr size_t kPeelPool = 1024;
constexpr size_t kPeelDraws = 65536;
constexpr uint32_t kPeelClientChannel = 1;
constexpr uint32_t kPeelNextChannel = 2;

struct NetBenchFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Fail(const std::string& why) { throw NetBenchFailure(why); }
[[noreturn]] void FailErrno(const std::string& what) { Fail(what + ": " + std::strerror(errno)); }

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[size_t(p * double(values.size() - 1) + 0.5)];
}

double Mbits(size_t bytes, double seconds) { return double(bytes) * 8 / 1e6 / seconds; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The end of a log, for a failure message.
std::string LogTail(const std::string& path) {
  constexpr size_t kTailBytes = 600;
  const std::string text = ReadFile(path);
  return text.size() <= kTailBytes ? text : "..." + text.substr(text.size() - kTailBytes);
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

Fd ListenLoopback(uint16_t port, int backlog) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) FailErrno("socket");
  const sockaddr_in address = Loopback(port);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    FailErrno("bind 127.0.0.1");
  if (backlog > 0 && listen(fd.get(), backlog) != 0) FailErrno("listen");
  return fd;
}

uint16_t BoundPort(const Fd& fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
    FailErrno("getsockname");
  return ntohs(address.sin_port);
}

// A port nothing listens on now (bound to port 0 and released; the relay binds it next).
uint16_t FreePort() { return BoundPort(ListenLoopback(0, 0)); }

// A connected socket, or an invalid Fd if nothing accepts.
Fd TryConnect(uint16_t port) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) FailErrno("socket");
  const sockaddr_in address = Loopback(port);
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    return Fd();
  return fd;
}

void SetTimeouts(const Fd& fd) {
  const timeval timeout{kSocketTimeoutS, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

// What the data server sends: stream byte i is Pattern()[i % kPatternBytes].
const std::vector<uint8_t>& Pattern() {
  static const std::vector<uint8_t> pattern = [] {
    std::vector<uint8_t> bytes(kPatternBytes);
    std::mt19937_64 rng(0x6e6574);
    for (auto& b : bytes) b = uint8_t(rng() >> 56);
    return bytes;
  }();
  return pattern;
}

// The far end of every stream: on each connection it writes bytes_per_connection pattern
// bytes and closes. A thread per connection, so parallel streams are served in parallel.
class DataServer {
 public:
  DataServer() : listener_(ListenLoopback(0, SOMAXCONN)), port_(BoundPort(listener_)) {
    Pattern();
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  DataServer(const DataServer&) = delete;
  DataServer& operator=(const DataServer&) = delete;
  ~DataServer() {
    stopping_ = true;
    shutdown(listener_.get(), SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    std::lock_guard lock(mutex_);
    for (std::thread& t : connections_) t.join();
  }
  uint16_t port() const { return port_; }
  void set_bytes_per_connection(size_t bytes) { bytes_ = bytes; }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      Fd fd(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (fd.get() < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      SetTimeouts(fd);
      std::lock_guard lock(mutex_);
      try {
        connections_.emplace_back([conn = std::make_shared<Fd>(std::move(fd)),
                                   bytes = bytes_.load()] { Serve(*conn, bytes); });
      } catch (const std::exception&) {
        // No thread: the connection closes here and its fetch reports the short stream.
      }
    }
  }

  static void Serve(const Fd& fd, size_t bytes) {
    const std::vector<uint8_t>& pattern = Pattern();
    for (size_t sent = 0; sent < bytes;) {
      const size_t at = sent % pattern.size();
      const ssize_t n = send(fd.get(), pattern.data() + at,
                             std::min(bytes - sent, pattern.size() - at), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // the exit went away: the fetch reports the short stream
      sent += size_t(n);
    }
    shutdown(fd.get(), SHUT_WR);
  }

  Fd listener_;
  uint16_t port_;
  std::atomic<size_t> bytes_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<std::thread> connections_;
  std::thread acceptor_;
};

void SendAll(const Fd& fd, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) FailErrno("SOCKS send");
    bytes = bytes.subspan(size_t(n));
  }
}

// recv() that fails on a timeout or an error; 0 at EOF.
size_t Receive(const Fd& fd, uint8_t* out, size_t size, const char* what) {
  for (;;) {
    const ssize_t n = recv(fd.get(), out, size, 0);
    if (n >= 0) return size_t(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      Fail(std::string(what) + ": nothing for " + std::to_string(kSocketTimeoutS) + " s");
    FailErrno(what);
  }
}

struct FetchTimes {
  double first_byte_s = 0;  // from the start of the SOCKS connection
  double total_s = 0;
};

// One stream through the client's SOCKS port to the data server, read to EOF. Fails on a
// refusal, a stall, or a stream that is short, long or not what the server sent.
FetchTimes FetchThroughSocks(uint16_t socks_port, uint16_t target_port, size_t expected) {
  const auto start = Clock::now();
  Fd fd = TryConnect(socks_port);
  if (fd.get() < 0) FailErrno("connect to the SOCKS port");
  SetTimeouts(fd);
  std::array<uint8_t, 3> greeting;
  SendAll(fd, std::span(greeting.data(), net::BuildSocksGreeting(greeting)));
  std::array<uint8_t, 2> choice;
  for (size_t got = 0; got < choice.size();) {
    const size_t n = Receive(fd, choice.data() + got, choice.size() - got, "SOCKS greeting");
    if (n == 0) Fail("SOCKS: closed after the greeting");
    got += n;
  }
  if (choice[0] != net::kSocksVersion || choice[1] != net::kSocksMethodNoAuth)
    Fail("SOCKS: no-authentication refused");
  net::SocksRequest request;
  request.command = net::kSocksCommandConnect;
  request.target = {net::BeginTargetKind::kIpv4, "127.0.0.1", target_port};
  std::array<uint8_t, net::kMaxSocksRequestBytes> request_bytes;
  const size_t request_size = net::BuildSocksRequest(request, request_bytes);
  if (request_size == 0) Fail("SOCKS: cannot build the request");
  SendAll(fd, std::span(request_bytes.data(), request_size));

  std::vector<uint8_t> buffer(kReadBytes);
  size_t have = 0, consumed = 0;
  uint8_t reply = 0;
  for (;;) {
    const net::SocksParse parse =
        net::ParseSocksReply(std::span(buffer.data(), have), consumed, reply);
    if (parse == net::SocksParse::kBad) Fail("SOCKS: malformed reply");
    if (parse == net::SocksParse::kOk) break;
    const size_t n = Receive(fd, buffer.data() + have, buffer.size() - have, "SOCKS reply");
    if (n == 0) Fail("SOCKS: closed before the reply");
    have += n;
  }
  if (reply != uint8_t(net::SocksReply::kSucceeded))
    Fail("SOCKS: CONNECT refused (reply " + std::to_string(reply) + ")");

  // Data: what came with the reply, then reads to EOF, each checked against the pattern.
  const std::vector<uint8_t>& pattern = Pattern();
  FetchTimes times;
  size_t received = 0;
  auto take = [&](const uint8_t* data, size_t n) {
    if (received == 0 && n > 0) times.first_byte_s = Seconds(Clock::now() - start);
    if (received + n > expected)
      Fail("stream longer than the " + std::to_string(expected) + " bytes sent");
    for (size_t done = 0; done < n;) {
      const size_t at = (received + done) % pattern.size();
      const size_t run = std::min(n - done, pattern.size() - at);
      if (std::memcmp(data + done, pattern.data() + at, run) != 0)
        Fail("stream bytes differ from what the server sent");
      done += run;
    }
    received += n;
  };
  take(buffer.data() + consumed, have - consumed);
  for (;;) {
    const size_t n = Receive(fd, buffer.data(), buffer.size(), "stream read");
    if (n == 0) break;
    take(buffer.data(), n);
  }
  times.total_s = Seconds(Clock::now() - start);
  if (received != expected)
    Fail("short stream: " + std::to_string(received) + " of " + std::to_string(expected) +
         " bytes");
  return times;
}

// The processes this bench started; stops them all when it goes out of scope.
class Processes {
 public:
  Processes() {
    char path[4096];
    const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    exe_ = n > 0 ? std::string(path, size_t(n)) : "/proc/self/exe";
  }
  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;
  ~Processes() { Stop(std::vector<pid_t>(running_)); }

  // `relaycell ARGS...` with stdout and stderr appended to `log`.
  pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> strings{exe_};
    strings.insert(strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& s : strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    Fd out(open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    Fd in(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (out.get() < 0 || in.get() < 0) FailErrno("open " + log);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) FailErrno("fork");
    if (pid == 0) {
      // Async-signal-safe calls only (the bench has threads). A bench that dies takes its
      // network with it.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(127);
      dup2(in.get(), STDIN_FILENO);
      dup2(out.get(), STDOUT_FILENO);
      dup2(out.get(), STDERR_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
    running_.push_back(pid);
    return pid;
  }

  // Runs `relaycell ARGS...` to its end; fails unless it exits 0.
  void Run(const std::vector<std::string>& args, const std::string& log) {
    const pid_t pid = Spawn(args, log);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    Forget(pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      Fail("relaycell " + args[0] + " " + (args.size() > 1 ? args[1] : "") + " failed:\n" +
           LogTail(log));
  }

  bool Alive(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == 0) return true;
    Forget(pid);
    return false;
  }

  // SIGTERM to each, SIGKILL to what is left after kStopGrace; all reaped.
  void Stop(const std::vector<pid_t>& stopping) {
    std::vector<pid_t> pids = stopping;
    for (pid_t pid : pids) kill(pid, SIGTERM);
    const auto deadline = Clock::now() + kStopGrace;
    while (!pids.empty()) {
      std::erase_if(pids, [](pid_t pid) {
        int status = 0;
        return waitpid(pid, &status, WNOHANG) != 0;  // reaped, or not ours any more
      });
      if (pids.empty()) break;
      if (Clock::now() >= deadline) {
        for (pid_t pid : pids) {
          kill(pid, SIGKILL);
          int status = 0;
          waitpid(pid, &status, 0);
        }
        pids.clear();
        break;
      }
      std::this_thread::sleep_for(kPollInterval);
    }
    for (pid_t pid : stopping) Forget(pid);
  }

 private:
  void Forget(pid_t pid) { std::erase(running_, pid); }

  std::string exe_;
  std::vector<pid_t> running_;
};

// Waits until `port` accepts, failing early if `pid` (its listener to be) has died.
void WaitForPort(Processes& processes, pid_t pid, uint16_t port, const std::string& log) {
  const auto deadline = Clock::now() + kPortWait;
  while (TryConnect(port).get() < 0) {
    if (!processes.Alive(pid))
      Fail("process exited before listening on " + std::to_string(port) + ":\n" + LogTail(log));
    if (Clock::now() >= deadline)
      Fail("nothing listens on 127.0.0.1:" + std::to_string(port) + ":\n" + LogTail(log));
    std::this_thread::sleep_for(kPollInterval);
  }
}

// A temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "relaycell-bench-net-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) FailErrno("mkdtemp");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// User plus system CPU seconds of a process, all its threads (/proc/PID/stat fields 14, 15).
double CpuSeconds(pid_t pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) Fail("cannot read /proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int index = 3; index <= 15 && fields >> field; ++index) {  // field 3 follows the ')'
    if (index == 14) utime = std::stoull(field);
    if (index == 15) stime = std::stoull(field);
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

struct Relay {
  std::string nickname, dir, log;
  uint16_t port = 0;
  pid_t pid = 0;
};

// The relay's counters: SIGUSR1, then its "counters:" block read back from its log.
std::map<std::string, uint64_t> RelayCounters(const Relay& relay) {
  const std::string header = "relaycell relay " + relay.nickname + " counters:\n";
  auto blocks = [&](const std::string& text) {
    size_t count = 0;
    for (size_t at = text.find(header); at != std::string::npos; at = text.find(header, at + 1))
      ++count;
    return count;
  };
  const size_t before = blocks(ReadFile(relay.log));
  kill(relay.pid, SIGUSR1);
  const auto deadline = Clock::now() + kCountersWait;
  for (;;) {
    const std::string text = ReadFile(relay.log);
    if (blocks(text) > before) {
      std::map<std::string, uint64_t> counters;
      std::istringstream lines(text.substr(text.rfind(header) + header.size()));
      std::string line;
      // Whole "name value" lines only: the block may be half written.
      while (std::getline(lines, line) && !lines.eof()) {
        const size_t space = line.find(' ');
        if (space == std::string::npos ||
            line.find_first_not_of("0123456789", space + 1) != std::string::npos ||
            space + 1 == line.size())
          break;
        counters[line.substr(0, space)] = std::stoull(line.substr(space + 1));
      }
      if (counters.count("cells_in")) return counters;
    }
    if (Clock::now() >= deadline) Fail("relay " + relay.nickname + " printed no counters");
    std::this_thread::sleep_for(kPollInterval);
  }
}

struct CircuitBuild {
  double ms = 0;
  std::vector<std::string> path;  // nicknames, first hop first
};

// The client's "relaycell client: circuit XXXXXXXX built (SUITE) in N.NN ms: A > B > C" lines.
std::vector<CircuitBuild> CircuitBuilds(const std::string& log) {
  std::vector<CircuitBuild> builds;
  std::istringstream lines(ReadFile(log));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("relaycell client: circuit ", 0) != 0) continue;
    const size_t in = line.find(") in ");
    const size_t colon = line.find(" ms: ");
    if (line.find(" built (") == std::string::npos || in == std::string::npos ||
        colon == std::string::npos)
      continue;
    CircuitBuild build;
    build.ms = std::strtod(line.c_str() + in + 5, nullptr);
    std::string rest = line.substr(colon + 5);
    for (size_t at = 0;;) {
      const size_t next = rest.find(" > ", at);
      build.path.push_back(rest.substr(at, next - at));
      if (next == std::string::npos) break;
      at = next + 3;
    }
    builds.push_back(std::move(build));
  }
  return builds;
}

// Three relays on 127.0.0.1, a network file, the data server, and clients on demand.
// Members stop in reverse order: processes, then the data server, then the directory.
class LoopbackNetwork {
 public:
  explicit LoopbackNetwork(int workers) {
    std::vector<std::string> network_args{"network", dir_ / "network.json"};
    for (int i = 0; i < kRelays; ++i) {
      Relay& relay = relays_.emplace_back();
      relay.nickname = "relay" + std::to_string(i);
      relay.dir = dir_ / relay.nickname;
      relay.log = dir_ / (relay.nickname + ".log");
      relay.port = FreePort();
      std::vector<std::string> init{"relay",      "init",         relay.dir,
                                    "--nickname", relay.nickname, "--address",
                                    "127.0.0.1",  "--port",       std::to_string(relay.port)};
      if (i == kRelays - 1) init.push_back("--exit");
      processes_.Run(init, dir_ / "setup.log");
      network_args.push_back(relay.dir + "/descriptor.json");
    }
    processes_.Run(network_args, dir_ / "setup.log");
    for (Relay& relay : relays_) {
      std::vector<std::string> run{"relay", "run", relay.dir};
      if (workers >= 0) run.insert(run.end(), {"--workers", std::to_string(workers)});
      relay.pid = processes_.Spawn(run, relay.log);
    }
    for (const Relay& relay : relays_) WaitForPort(processes_, relay.pid, relay.port, relay.log);
  }

  struct Client {
    pid_t pid = 0;
    uint16_t socks_port = 0;
    std::string log;
  };
  Client StartClient(const std::string& suite, std::vector<std::string> extra) {
    Client client;
    client.socks_port = FreePort();
    client.log = dir_ / ("client-" + suite + "-" + std::to_string(clients_++) + ".log");
    std::vector<std::string> args{"client",
                                  "--network",
                                  dir_ / "network.json",
                                  "--socks",
                                  "127.0.0.1:" + std::to_string(client.socks_port),
                                  "--hops",
                                  std::to_string(kHops),
                                  "--suite",
                                  suite};
    args.insert(args.end(), extra.begin(), extra.end());
    client.pid = processes_.Spawn(args, client.log);
    WaitForPort(processes_, client.pid, client.socks_port, client.log);
    return client;
  }
  void StopClients(const std::vector<Client>& clients) {
    std::vector<pid_t> pids;
    for (const Client& client : clients) pids.push_back(client.pid);
    processes_.Stop(pids);
  }

  DataServer& data() { return data_; }
  const Relay* FindRelay(const std::string& nickname) const {
    for (const Relay& relay : relays_)
      if (relay.nickname == nickname) return &relay;
    return nullptr;
  }

 private:
  TempDir dir_;
  DataServer data_;
  std::vector<Relay> relays_;
  int clients_ = 0;
  Processes processes_;
};

// ---- engine.aez.peel, re-measured when the engine group did not run ---------------------

std::vector<uint8_t> PeelSeed(size_t circuit) {
  std::vector<uint8_t> seed(FindSuite(kAezSuiteId)->min_seed_bytes());
  uint64_t x = circuit * 0x9e3779b97f4a7c15ull + 0xbf58476d1ce4e5b9ull + 1;
  for (auto& b : seed) {
    x ^= x >> 31, x *= 0x94d049bb133111ebull;
    b = uint8_t(x >> 56);
  }
  return seed;
}

// As bench_engine.cc's PeelNs: a middle relay's RelayPipeline with `circuits` aez circuits
// peels hot forward cells (a pool of kPeelPool) stamped with random circ_ids, batches of 64.
double AezPeelNs(size_t circuits, double min_time_s) {
  RelayPipelineConfig config;
  config.max_circuits = circuits;
  RelayPipeline engine(config);
  DirectOutput sink(false);
  std::vector<InCell> opens(circuits);
  for (size_t i = 0; i < circuits; ++i) {
    const uint32_t id = 1 + uint32_t(i);
    const auto seed = PeelSeed(i);
    if (!EncodeRelayOpen(kPeelClientChannel, id,
                         {kAezSuiteId, kPeelNextChannel, 0x80000000u | id, seed}, opens[i]))
      Fail("cannot open the peel circuits");
  }
  for (size_t at = 0; at < opens.size(); at += kPeelBatch)
    engine.ProcessBatch(std::span(opens).subspan(at, std::min(kPeelBatch, opens.size() - at)),
                        sink.output());
  std::mt19937_64 rng(5);
  std::vector<InCell> pool(kPeelPool);
  for (InCell& in : pool) {
    in.channel = kPeelClientChannel;
    WriteCellHeader(1, CellCommand::kRelay, in.cell.span());
    for (size_t i = 0; i < kCellBodyBytes; ++i) in.cell.payload()[i] = uint8_t(rng());
  }
  std::vector<uint32_t> ids(kPeelDraws);
  for (uint32_t& id : ids) id = 1 + uint32_t(rng() % circuits);
  size_t next_id = 0, at = 0;
  return NsPerOp(
      [&](size_t iterations) {
        for (size_t done = 0; done < iterations;) {
          const size_t n = std::min({kPeelBatch, iterations - done, pool.size() - at});
          for (size_t j = 0; j < n; ++j) {
            WriteCellHeader(ids[next_id], CellCommand::kRelay, pool[at + j].cell.span());
            next_id = next_id + 1 == ids.size() ? 0 : next_id + 1;
          }
          engine.ProcessBatch(std::span<const InCell>(pool).subspan(at, n), sink.output());
          done += n;
          at = (at + n) % pool.size();
        }
        DoNotOptimize(sink.count());
      },
      min_time_s);
}

// ---- the measurements ----------------------------------------------------------------------

struct RelayLoad {
  std::string nickname;
  uint64_t cells = 0;
  double cpu_s = 0, wall_s = 0;
};

struct Bulk {
  double seconds = 1e300;  // the best round's
  std::string path;
  const Relay* middle = nullptr;
  RelayLoad load;  // the middle relay over the best round
};

std::string PathText(const std::vector<std::string>& path) {
  std::string text;
  for (const std::string& hop : path) text += (text.empty() ? "" : " > ") + hop;
  return text;
}

// A short stream that builds the client's circuit, whose path the bulk rounds then ride.
Bulk WarmUp(LoopbackNetwork& network, const LoopbackNetwork::Client& client) {
  network.data().set_bytes_per_connection(kWarmupBytes);
  FetchThroughSocks(client.socks_port, network.data().port(), kWarmupBytes);
  const auto builds = CircuitBuilds(client.log);
  if (builds.size() != 1 || builds[0].path.size() != size_t(kHops))
    Fail("the warm-up stream should have built one " + std::to_string(kHops) +
         "-hop circuit; the client built " + std::to_string(builds.size()));
  Bulk bulk;
  bulk.path = PathText(builds[0].path);
  bulk.middle = network.FindRelay(builds[0].path[1]);
  if (bulk.middle == nullptr) Fail("unknown middle relay " + builds[0].path[1]);
  return bulk;
}

// One stream of `bytes` on the client's open circuit, with the middle relay's cells in and CPU
// seconds over it; kept in `bulk` if it is the fastest round so far.
void BulkRound(LoopbackNetwork& network, const LoopbackNetwork::Client& client, size_t bytes,
               Bulk& bulk) {
  const Relay& middle = *bulk.middle;
  const uint64_t cells_before = RelayCounters(middle).at("cells_in");
  const double cpu_before = CpuSeconds(middle.pid);
  network.data().set_bytes_per_connection(bytes);
  const FetchTimes times = FetchThroughSocks(client.socks_port, network.data().port(), bytes);
  const double cpu_s = CpuSeconds(middle.pid) - cpu_before;
  const uint64_t cells = RelayCounters(middle).at("cells_in") - cells_before;
  if (CircuitBuilds(client.log).size() != 1) Fail("a bulk stream did not ride the warm circuit");
  if (times.total_s < bulk.seconds) {
    bulk.seconds = times.total_s;
    bulk.load = {middle.nickname, cells, cpu_s, times.total_s};
  }
}

// kParallelStreams streams at once; aggregate Mbit/s from the first start to the last EOF.
double MeasureParallel(LoopbackNetwork& network, const LoopbackNetwork::Client& client,
                       size_t& circuits) {
  DataServer& data = network.data();
  data.set_bytes_per_connection(kParallelStreamBytes);
  const size_t builds_before = CircuitBuilds(client.log).size();
  std::vector<std::string> errors(kParallelStreams);
  const auto start = Clock::now();
  {
    std::vector<std::jthread> threads;  // joined on every way out of this block
    for (size_t i = 0; i < kParallelStreams; ++i) {
      threads.emplace_back([&, i] {
        try {
          FetchThroughSocks(client.socks_port, data.port(), kParallelStreamBytes);
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    }
  }
  const double seconds = Seconds(Clock::now() - start);
  for (size_t i = 0; i < kParallelStreams; ++i)
    if (!errors[i].empty()) Fail("parallel stream " + std::to_string(i) + ": " + errors[i]);
  circuits = CircuitBuilds(client.log).size() - builds_before;
  return Mbits(kParallelStreams * kParallelStreamBytes, seconds);
}

struct Fresh {
  std::vector<double> build_ms, ttfb_ms;
};

// kFreshCircuits fetches, each on a circuit of its own; the first (which also opens the link
// to its first hop) is a warm-up and not counted.
Fresh MeasureFresh(LoopbackNetwork& network, const LoopbackNetwork::Client& client) {
  DataServer& data = network.data();
  data.set_bytes_per_connection(kProbeBytes);
  Fresh fresh;
  for (size_t i = 0; i <= kFreshCircuits; ++i) {
    const FetchTimes times = FetchThroughSocks(client.socks_port, data.port(), kProbeBytes);
    if (i > 0) fresh.ttfb_ms.push_back(times.first_byte_s * 1e3);
  }
  const auto builds = CircuitBuilds(client.log);
  if (builds.size() != kFreshCircuits + 1)
    Fail(std::to_string(kFreshCircuits + 1) + " fresh streams built " +
         std::to_string(builds.size()) + " circuits");
  for (size_t i = 1; i < builds.size(); ++i) fresh.build_ms.push_back(builds[i].ms);
  return fresh;
}

std::string Format(const char* format, auto... values) {
  char buf[400];
  std::snprintf(buf, sizeof buf, format, values...);
  return buf;
}

void Measure(const BenchConfig& config, const std::vector<BenchResult>& earlier,
             std::vector<BenchResult>& out) {
  std::vector<std::string> suites;
  for (const char* suite : {"aez", "tor1", "cgo"})
    if (config.suite == "all" || config.suite == suite) suites.emplace_back(suite);
  const bool aez = std::find(suites.begin(), suites.end(), "aez") != suites.end();
  const std::string fresh_suite = suites.front();
  const size_t bulk_bytes = config.quick ? kQuickBulkBytes : kBulkBytes;

  // engine.aez.peel: the engine group's figure if it ran in this invocation, else measured
  // here, before the network starts, so the relays do not disturb it.
  double peel_ns = 0;
  std::string peel_source;
  for (const BenchResult& r : earlier) {
    if (r.name == "engine.aez.peel") {
      peel_ns = r.value;
      peel_source = "engine group, same run";
    }
  }
  if (aez && peel_ns <= 0) {
    peel_ns = AezPeelNs(config.circuits, config.min_time_s);
    peel_source = Format("re-measured, %zu circuits", config.circuits);
  }

  LoopbackNetwork network(config.workers);
  // Every suite's client at once and the rounds interleaved, so a noisy neighbour on this
  // shared machine moves each suite alike and the ratios stay put.
  std::vector<LoopbackNetwork::Client> clients;
  std::map<std::string, Bulk> bulk;
  for (const std::string& suite : suites) {
    clients.push_back(network.StartClient(suite, {}));
    bulk[suite] = WarmUp(network, clients.back());
  }
  for (int round = 0; round < kBulkRounds; ++round) {
    for (size_t i = 0; i < suites.size(); ++i)
      BulkRound(network, clients[i], bulk_bytes, bulk[suites[i]]);
  }
  double parallel_mbits = 0;
  size_t parallel_circuits = 0;
  if (aez)  // suites[0] is aez when aez runs
    parallel_mbits = MeasureParallel(network, clients.front(), parallel_circuits);
  network.StopClients(clients);
  const auto fresh_client = network.StartClient(fresh_suite, {"--one-stream-per-circuit"});
  const Fresh fresh = MeasureFresh(network, fresh_client);
  network.StopClients({fresh_client});

  auto mbits = [&](const std::string& suite) { return Mbits(bulk_bytes, bulk[suite].seconds); };
  for (const std::string& suite : suites) {
    const Bulk& b = bulk[suite];
    BenchResult r{"net." + suite + ".bulk_3hop",
                  mbits(suite),
                  "Mbit/s",
                  {},
                  Format("%zu MiB, one stream, %.2f s, best of %d; path %s; middle relay CPU "
                         "%.2f µs per cell",
                         bulk_bytes / kMiB, b.seconds, kBulkRounds, b.path.c_str(),
                         b.load.cpu_s * 1e6 / double(std::max<uint64_t>(b.load.cells, 1)))};
    if (suite != "tor1" && bulk.count("tor1"))
      r.vs.emplace_back("net.tor1.bulk_3hop", mbits(suite) / mbits("tor1"));
    out.push_back(std::move(r));
  }
  if (aez) {
    out.push_back({"net.aez.bulk_3hop_20streams",
                   parallel_mbits,
                   "Mbit/s",
                   {},
                   Format("%zu streams x %zu MiB at once: the open circuit and %zu new ones "
                          "(the client's 8 streams per circuit)",
                          kParallelStreams, kParallelStreamBytes / kMiB, parallel_circuits)});
    const RelayLoad& load = bulk["aez"].load;
    if (load.cpu_s <= 0 || load.cells == 0) Fail("the middle relay showed no load");
    const double per_core = double(load.cells) / load.cpu_s;
    BenchResult r{
        "net.aez.cells_per_s_relay",
        per_core,
        "cells/s",
        {},
        Format("middle relay %s: %llu cells in, %.2f CPU s, wall %.0f cells/s; relay "
               "CPU per cell %.2f µs (Tor at 1 Gbit/s: ~%.0f µs per cell per core); "
               "peel %.1f ns (%s)",
               load.nickname.c_str(), static_cast<unsigned long long>(load.cells), load.cpu_s,
               double(load.cells) / load.wall_s, load.cpu_s * 1e6 / double(load.cells),
               kTorCpuPerCellUs, peel_ns, peel_source.c_str())};
    if (peel_ns > 0) r.vs.emplace_back("engine.aez.peel", per_core / (1e9 / peel_ns));
    out.push_back(std::move(r));
  }
  out.push_back({"net.circuit_build_ms",
                 Median(fresh.build_ms),
                 "ms",
                 {},
                 Format("median of %zu fresh %d-hop circuits (%s), link open; p10 %.2f, p90 %.2f",
                        kFreshCircuits, kHops, fresh_suite.c_str(), Percentile(fresh.build_ms, 0.1),
                        Percentile(fresh.build_ms, 0.9))});
  out.push_back({"net.ttfb_ms",
                 Median(fresh.ttfb_ms),
                 "ms",
                 {},
                 Format("median of %zu: SOCKS connect to first byte, fresh circuit each (%s); "
                        "p10 %.2f, p90 %.2f",
                        kFreshCircuits, fresh_suite.c_str(), Percentile(fresh.ttfb_ms, 0.1),
                        Percentile(fresh.ttfb_ms, 0.9))});
}

void RunNetBench(const BenchConfig& config, std::vector<BenchResult>& results) {
  // Only the no-argument run sets `quick`; that run stays as it was (this group spawns five
  // processes and runs for tens of seconds), so `net` runs only when named.
  if (config.quick) return;
  std::vector<BenchResult> measured;
  try {
    Measure(config, results, measured);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "relaycell bench net: %s (no net results)\n", e.what());
    return;
  }
  results.insert(results.end(), measured.begin(), measured.end());
}

const bool registered = RegisterBenchGroup(
    {"net", "3 relay processes on 127.0.0.1: bulk Mbit/s, relay cells/s, build, TTFB", RunNetBench,
     70});

}  // namespace
}  // namespace relaycell::tools
