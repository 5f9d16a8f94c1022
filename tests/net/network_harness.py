"""A throwaway onion network on 127.0.0.1 for the end-to-end tests and `relaycell bench net`.

Starts N `relaycell relay run` processes (the last ones exits), one `relaycell client --socks`,
and a real HTTP server (python3 -m http.server) serving random files, and stops every process
it started, whatever happens. Used as a context manager:

    with Network(relaycell, relays=3) as net:
        net.fetch("big.bin")            # curl --socks5-hostname through the client
"""

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15.0, host="127.0.0.1"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout} s")


class Network:
    def __init__(self, relaycell, relays=3, exits=1, suite="aez", hops=3, workers=1,
                 client_args=(), relay_config=None, files=None, hosts=None,
                 http_address="127.0.0.1"):
        # hosts: per relay (address, command prefix), e.g. ("10.77.0.11", ["ip", "netns",
        # "exec", "rc1"]) to run each relay in a network namespace of its own.
        self.relaycell = relaycell
        self.relay_count = relays
        self.exits = exits
        self.suite = suite
        self.hops = hops
        self.workers = workers
        self.client_args = list(client_args)
        self.relay_config = relay_config or {}
        self.files = files or {"big.bin": 8 << 20}
        self.procs = {}
        self.logs = {}
        self.dir = tempfile.mkdtemp(prefix="relaycell-net-")
        self.relay_ports = []
        self.hosts = hosts or [("127.0.0.1", [])] * relays
        self.http_address = http_address

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        www = os.path.join(self.dir, "www")
        os.mkdir(www)
        self.digests = {}
        for name, size in self.files.items():
            data = os.urandom(size)
            with open(os.path.join(www, name), "wb") as f:
                f.write(data)
            self.digests[name] = hashlib.sha256(data).hexdigest()
        self.http_port = free_port()
        self.spawn("http", ["python3", "-m", "http.server", str(self.http_port), "--bind",
                            self.http_address, "--directory", www])
        descriptors = []
        for i in range(self.relay_count):
            port = free_port()
            self.relay_ports.append(port)
            rdir = os.path.join(self.dir, f"relay{i}")
            args = [self.relaycell, "relay", "init", rdir, "--nickname", f"relay{i}",
                    "--address", self.hosts[i][0], "--port", str(port)]
            if i >= self.relay_count - self.exits:
                args.append("--exit")
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
            # relay_config: one dict for every relay, or a function of the relay's index.
            config = self.relay_config(i) if callable(self.relay_config) else self.relay_config
            if config:
                self.patch_config(os.path.join(rdir, "relay.json"), config)
            descriptors.append(os.path.join(rdir, "descriptor.json"))
        self.network_file = os.path.join(self.dir, "network.json")
        subprocess.run([self.relaycell, "network", self.network_file] + descriptors, check=True,
                       stdout=subprocess.DEVNULL)
        for i in range(self.relay_count):
            self.start_relay(i)
        self.socks_port = free_port()
        self.spawn("client", [self.relaycell, "client", "--network", self.network_file,
                              "--socks", f"127.0.0.1:{self.socks_port}", "--hops",
                              str(self.hops), "--suite", self.suite] + self.client_args)
        wait_port(self.http_port, host=self.http_address)
        wait_port(self.socks_port)

    def start_relay(self, i):
        rdir = os.path.join(self.dir, f"relay{i}")
        self.spawn(f"relay{i}", self.hosts[i][1] + [self.relaycell, "relay", "run", rdir,
                                                    "--workers", str(self.workers)])
        wait_port(self.relay_ports[i], host=self.hosts[i][0])

    @staticmethod
    def patch_config(path, values):
        import json
        with open(path) as f:
            lines = [line for line in f if not line.lstrip().startswith("//")]
        config = json.loads("".join(lines))
        for key, value in values.items():
            if isinstance(value, dict):
                config.setdefault(key, {}).update(value)
            else:
                config[key] = value
        with open(path, "w") as f:
            json.dump(config, f, indent=2)

    def spawn(self, name, args):
        log = open(os.path.join(self.dir, f"{name}.log"), "wb")
        self.logs[name] = log.name
        self.procs[name] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def kill(self, name, sig=signal.SIGKILL):
        proc = self.procs.get(name)
        if proc and proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(timeout=10)

    def signal(self, name, sig):
        self.procs[name].send_signal(sig)

    def log(self, name):
        with open(self.logs[name], "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, keep_dir=False):
        for name, proc in self.procs.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if not keep_dir and not os.environ.get("RELAYCELL_KEEP_NET"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def report(self, name, timeout=10.0):
        """SIGUSR1 to `name`, then its new counters block once it is in the log: {name: value}.
        Polls instead of sleeping a fixed time, which a loaded machine can outlast."""
        def blocks(text):
            return text.count(" counters:\n")
        before = blocks(self.log(name))
        self.signal(name, signal.SIGUSR1)
        deadline = time.time() + timeout
        while True:
            text = self.log(name)
            if blocks(text) > before:
                values = {}
                for line in text[text.rfind(" counters:\n"):].splitlines()[1:]:
                    parts = line.split()
                    if len(parts) != 2 or not parts[1].isdigit():
                        break
                    values[parts[0]] = int(parts[1])
                if values:
                    return values
            if time.time() >= deadline:
                raise AssertionError(f"{name} printed no counters {timeout} s after SIGUSR1")
            time.sleep(0.05)

    def counters(self, name):
        """Counters the process printed last (on SIGUSR1 or at shutdown): {name: value}."""
        values = {}
        for line in self.log(name).splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                values[parts[0]] = int(parts[1])
        return values

    # -- traffic -----------------------------------------------------------------------------
    def url(self, name):
        return f"http://{self.http_address}:{self.http_port}/{name}"

    def curl_args(self, name, out, extra=()):
        return ["curl", "-sS", "--fail", "--max-time", "120", "--socks5-hostname",
                f"127.0.0.1:{self.socks_port}", "-o", out] + list(extra) + [self.url(name)]

    def fetch(self, name, extra=(), timeout=180):
        """Fetches `name` through the network; returns (curl exit code, sha256 of what came)."""
        out = os.path.join(self.dir, f"got-{name}-{time.time_ns()}")
        result = subprocess.run(self.curl_args(name, out, extra), timeout=timeout,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        digest = None
        if os.path.exists(out):
            with open(out, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            os.unlink(out)
        return result.returncode, digest

    def fetch_many(self, name, count, extra=()):
        outs, procs = [], []
        for i in range(count):
            out = os.path.join(self.dir, f"got-{name}-{i}")
            outs.append(out)
            procs.append(subprocess.Popen(self.curl_args(name, out, extra),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        results = []
        for out, proc in zip(outs, procs):
            code = proc.wait(timeout=300)
            digest = None
            if os.path.exists(out):
                with open(out, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                os.unlink(out)
            results.append((code, digest))
        return results
