#!/usr/bin/env python3
"""intact's benchmark suite: the cost of intactd next to no monitor, auditd
and a counting-only BPF floor, and intactd's own limits.

Run it with `make bench` (as root). It prints one markdown report and writes
it to bench/results/latest.md and a dated copy. bench/README.md explains the
scenarios and how to read the figures.

Environment:
  BENCH_QUICK=1            short run (3 minutes instead of 10 on a 2-CPU VM)
  BENCH_ROUNDS             rounds of the alternating comparison
  BENCH_SECONDS            seconds of each load generator measurement
  BENCH_SUSTAINED_SECONDS  seconds of each step of the sustained rate test
  BENCH_CONTAINERS         running containers for the memory and start-up figures
  BENCH_DIGEST_MIB         size of the layer digest data set, in MiB
  BENCH_REDIS_REQUESTS     requests per redis-benchmark test
"""

import datetime
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_DIR = os.path.join(REPO_ROOT, "build")
BENCH_BUILD = os.path.join(BUILD_DIR, "bench")
RESULTS_DIR = os.path.join(REPO_ROOT, "bench", "results")
INTACTD = os.path.join(BUILD_DIR, "intactd")
INTACTCTL = os.path.join(BUILD_DIR, "intactctl")
LOADGEN = os.path.join(BENCH_BUILD, "loadgen")
FLOOR = os.path.join(BENCH_BUILD, "floor")
DIGEST = os.path.join(BENCH_BUILD, "digest")

NAMESPACE = "k8s.io"
IMAGE_NAME = "intact-bench"
IMAGE_REF = IMAGE_NAME + ":latest"
INPUTS_LABEL = "io.intact.bench.inputs"
# Containers get this prefix and the process id, so a later run can remove
# the leftovers of a killed one without touching anyone else's containers.
CONTAINER_PREFIX = "intact-bench-"

READY_TIMEOUT = 60.0
# intactd reports kernel ring buffer losses every second.
LOSS_REPORT_WAIT = 1.5
STOP_TIMEOUT = 30.0
QUIET_SECONDS = 0.5

# Paths inside the container. /tmp is writable in intactd's default policy,
# /etc is not, so every write there is an alert (write_readonly_path).
ALLOWED_PATH = "/tmp/bench-allowed"
PROTECTED_PATH = "/etc/bench-protected"
RATE_PATH = "/etc/bench-rate"
READ_PATH = "/etc/passwd"

AUDIT_SYSCALLS_WRITE = (
    "openat,open,creat,truncate,ftruncate,rename,renameat,renameat2,unlink,"
    "unlinkat,rmdir,mkdir,mkdirat,link,linkat,symlink,symlinkat,mknod,"
    "mknodat,chmod,fchmod,fchmodat,chown,fchown,lchown,fchownat,utimensat,"
    "setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr")
AUDIT_RULES = [
    ["-a", "always,exit", "-F", "arch=b64", "-S", "execve,execveat",
     "-k", "intact_exec"],
    ["-a", "always,exit", "-F", "arch=b64", "-S", AUDIT_SYSCALLS_WRITE,
     "-F", "perm=wa", "-k", "intact_write"],
]
# The kernel's default backlog (64 records) overflows within milliseconds
# under these loads. Debian's /etc/audit/rules.d/audit.rules sets 8192 too.
AUDIT_BACKLOG = "8192"


def log(message):
    print("bench: " + message, file=sys.stderr, flush=True)


class BenchError(Exception):
    """A failure of the benchmark setup, with what to do about it."""


def env_number(name, default, kind=float):
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        return kind(text)
    except ValueError:
        raise BenchError("invalid %s=%r: expected a number" % (name, text))


class Settings:
    def __init__(self):
        self.quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
        q = self.quick
        self.rounds = env_number("BENCH_ROUNDS", 3 if q else 5, int)
        self.seconds = env_number("BENCH_SECONDS", 0.5 if q else 1.5)
        self.sustained_seconds = env_number("BENCH_SUSTAINED_SECONDS",
                                            5 if q else 60)
        self.containers = env_number("BENCH_CONTAINERS", 50, int)
        self.digest_mib = env_number("BENCH_DIGEST_MIB", 64 if q else 256, int)
        self.redis_requests = env_number("BENCH_REDIS_REQUESTS",
                                         20000 if q else 100000, int)
        self.startup_repeats = 1 if q else 3
        self.latency_seconds = 3 if q else 10
        self.latency_rate = 1000
        # Event rates tried in the sustained test, lowest first. The test
        # stops at the first rate with a loss or that the generator misses.
        self.sustained_rates = [12500, 25000, 50000, 100000, 200000]

    def describe(self):
        return ("rounds=%d, %.1f s per measurement, sustained steps of %g s, "
                "%d containers, digest data %d MiB, redis %d requests per test%s"
                % (self.rounds, self.seconds, self.sustained_seconds,
                   self.containers, self.digest_mib, self.redis_requests,
                   " (BENCH_QUICK=1)" if self.quick else ""))


# ---------------------------------------------------------------- commands

def run(argv, timeout=120.0, check=True, **kwargs):
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise BenchError("command failed with exit code %d: %s\nstdout: %s\n"
                         "stderr: %s" % (result.returncode, " ".join(argv),
                                         result.stdout.strip()[-2000:],
                                         result.stderr.strip()[-2000:]))
    return result


def ctr(*args, timeout=60.0, check=True):
    return run(["ctr", "-n", NAMESPACE] + list(args), timeout=timeout,
               check=check)


def process_stop(process, timeout=STOP_TIMEOUT):
    """SIGTERM a process this script started; return seconds until it exited."""
    if process is None or process.poll() is not None:
        return 0.0
    start = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        log("pid %d ignored SIGTERM for %.0f s, killing it"
            % (process.pid, timeout))
        process.kill()
        process.wait()
    return time.monotonic() - start


def wait_for_text(path, text, process, timeout=READY_TIMEOUT):
    """Wait until the file contains text; return the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with open(path, "rb") as f:
            if text.encode() in f.read():
                return time.monotonic() - start
        if process.poll() is not None:
            with open(path, "rb") as f:
                output = f.read().decode("utf-8", "replace")
            raise BenchError("%s exited with code %d before printing %r:\n%s"
                             % (process.args[0], process.returncode, text,
                                output[-3000:]))
        time.sleep(0.01)
    raise BenchError("%s printed no %r within %.0f s"
                     % (process.args[0], text, timeout))


def free_port():
    """Find a TCP port on 127.0.0.1 that is free now, for a server started next."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid):
    """utime + stime of a process, from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 of stat(5), the state, so utime (14) and stime
    # (15) are fields[11] and fields[12].
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_memory_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def bpf_tracing_programs():
    """Number of tracepoint and tracing BPF programs loaded on the host."""
    result = run(["bpftool", "prog", "list", "-j"], check=False)
    if result.returncode != 0:
        return None
    try:
        programs = json.loads(result.stdout)
    except json.JSONDecodeError:
        return None
    return sum(1 for p in programs if p.get("type") in ("tracepoint", "tracing"))


def other_intactd_pids(own):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in own:
            continue
        try:
            with open("/proc/%s/comm" % entry) as f:
                if f.read().strip() == "intactd":
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


# ---------------------------------------------------------------- the image

def image_inputs_digest():
    import hashlib
    digest = hashlib.sha256()
    for path in (LOADGEN, os.path.abspath(__file__)):
        with open(path, "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def image_labels():
    result = ctr("image", "ls", check=False)
    for line in result.stdout.splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == IMAGE_REF:
            return dict(label.partition("=")[::2]
                        for label in fields[-1].split(","))
    return None


def image_ensure(work_dir):
    """Build and import the bench image (the load generator, /etc and /tmp)."""
    digest = image_inputs_digest()
    labels = image_labels()
    if labels is not None and labels.get(INPUTS_LABEL) == digest:
        return
    log("building image %s" % IMAGE_REF)

    layout = os.path.join(work_dir, "oci")
    bundle = os.path.join(work_dir, "bundle")
    image = layout + ":latest"
    run(["umoci", "init", "--layout", layout])
    run(["umoci", "new", "--image", image])
    run(["umoci", "unpack", "--image", image, bundle])

    rootfs = os.path.join(bundle, "rootfs")
    for directory in ("bench", "etc", "proc", "sys", "dev", "run"):
        os.makedirs(os.path.join(rootfs, directory), exist_ok=True)
    os.makedirs(os.path.join(rootfs, "tmp"), exist_ok=True)
    os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
    shutil.copyfile(LOADGEN, os.path.join(rootfs, "bench", "loadgen"))
    os.chmod(os.path.join(rootfs, "bench", "loadgen"), 0o755)
    with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/:/bench/loadgen\n")

    run(["umoci", "repack", "--image", image, bundle])
    run(["umoci", "config", "--image", image, "--config.cmd", "/bench/loadgen",
         "--config.workingdir", "/"])
    run(["umoci", "gc", "--layout", layout])

    archive = os.path.join(work_dir, "image.tar")
    with tarfile.open(archive, "w") as tar:
        for entry in sorted(os.listdir(layout)):
            tar.add(os.path.join(layout, entry), arcname=entry)

    if labels is not None:
        ctr("image", "rm", IMAGE_REF)
    ctr("image", "import", "--base-name", IMAGE_NAME, archive, timeout=120)
    ctr("image", "label", IMAGE_REF, "%s=%s" % (INPUTS_LABEL, digest))


class Containers:
    """Containers of this run: load generator runs, removed when they exit,
    and idle containers, removed by remove_detached()."""

    def __init__(self):
        self.prefix = "%s%d-" % (CONTAINER_PREFIX, os.getpid())
        self.counter = 0
        self.detached = []

    def name_next(self):
        self.counter += 1
        return "%s%d" % (self.prefix, self.counter)

    def loadgen(self, *args, timeout=600.0):
        """Run the load generator in a new container; return its key=value results."""
        name = self.name_next()
        argv = ["ctr", "-n", NAMESPACE, "run", "--rm", IMAGE_REF, name,
                "/bench/loadgen"] + [str(a) for a in args]
        result = run(argv, timeout=timeout, check=False)
        if result.returncode != 0:
            self.remove(name)
            raise BenchError("the load generator failed (exit code %d): %s\n%s"
                             % (result.returncode, " ".join(argv),
                                result.stderr.strip()[-2000:]))
        values = {}
        for token in result.stdout.split():
            key, _, value = token.partition("=")
            values[key] = value
        return values

    def start_idle(self):
        name = self.name_next()
        ctr("run", "-d", IMAGE_REF, name, "/bench/loadgen", "pause")
        self.detached.append(name)

    def remove(self, name):
        ctr("task", "kill", "--signal", "SIGKILL", name, check=False)
        ctr("task", "delete", "--force", name, check=False)
        ctr("container", "delete", name, check=False)

    def remove_detached(self):
        for name in self.detached:
            self.remove(name)
        self.detached = []

    @staticmethod
    def remove_leftovers():
        """Remove bench containers of earlier runs whose process is gone."""
        result = ctr("container", "ls", "-q", check=False)
        for name in result.stdout.split():
            m = re.match(re.escape(CONTAINER_PREFIX) + r"(\d+)-", name)
            if m and not os.path.exists("/proc/" + m.group(1)):
                log("removing leftover container %s" % name)
                Containers().remove(name)

    @staticmethod
    def running_count():
        result = ctr("task", "ls", check=False)
        return sum(1 for line in result.stdout.splitlines()[1:]
                   if "RUNNING" in line)


# ---------------------------------------------------------------- monitors

class Subscriber:
    """intactctl events reading intactd's socket; counts lines by marker.

    A thread reads intactctl's text output as it arrives, counts the file
    events on each marker path, sums the counts of "lost" events and keeps
    the arrival time of latency probe files.
    """

    LOST = re.compile(rb" lost source=(\S+) count=(\d+)")
    LATENCY = re.compile(rb" open /etc/lat-(\d+)\.(\d+)")

    def __init__(self, socket_path, markers):
        self.markers = [m.encode() for m in markers]
        self.counts = {m: 0 for m in markers}
        self.lost = {}
        self.lines = 0
        self.latencies_ns = []
        self.last_line = time.monotonic()
        self.lock = threading.Lock()
        self.process = subprocess.Popen(
            [INTACTCTL, "events", "--socket", socket_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, bufsize=0)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        pending = b""
        while True:
            chunk = self.process.stdout.read(1 << 16)
            now_ns = time.time_ns()
            if not chunk:
                return
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            with self.lock:
                self.last_line = time.monotonic()
                for line in lines:
                    self._count(line, now_ns)

    def _count(self, line, now_ns):
        self.lines += 1
        for marker in self.markers:
            if b" open " + marker + b" " in line:
                self.counts[marker.decode()] += 1
                return
        m = self.LATENCY.search(line)
        if m:
            sent = int(m.group(1)) * 1000000000 + int(m.group(2))
            self.latencies_ns.append(now_ns - sent)
            return
        m = self.LOST.search(line)
        if m:
            source = m.group(1).decode()
            self.lost[source] = self.lost.get(source, 0) + int(m.group(2))

    def snapshot(self):
        with self.lock:
            return (dict(self.counts), sum(self.lost.values()),
                    list(self.latencies_ns), dict(self.lost))

    def wait_settled(self):
        """Wait for the backlog to drain and for intactd's loss report.

        intactd reports ring buffer losses once a second, so a "lost" event
        can follow the last regular event by up to that long.
        """
        self.wait_quiet(quiet=1.0)
        time.sleep(LOSS_REPORT_WAIT)
        self.wait_quiet()

    def wait_quiet(self, quiet=QUIET_SECONDS, timeout=60.0):
        """Wait until no line arrived for `quiet` seconds."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            with self.lock:
                idle = time.monotonic() - self.last_line
            if idle >= quiet:
                return
            time.sleep(0.05)

    def stop(self):
        process_stop(self.process, timeout=10)
        self.thread.join(5)


class Intactd:
    """intactd with the default policy, stdout to /dev/null, its socket in
    the run's directory, metrics on 127.0.0.1 and one subscriber
    (intactctl events)."""

    name = "intactd"

    def __init__(self, work_dir, markers=()):
        self.work_dir = work_dir
        self.markers = list(markers)
        self.process = None
        self.subscriber = None
        self.stderr_path = os.path.join(work_dir, "intactd.stderr")
        self.socket_path = os.path.join(work_dir, "intactd.sock")
        self.config_path = os.path.join(work_dir, "intactd.yaml")
        self.ready_seconds = None
        self.stop_seconds = None
        self.metrics_port = None

    def start(self, subscribe=True):
        # An empty configuration keeps every built-in default, whatever
        # /etc/intact/intactd.yaml contains on this machine.
        with open(self.config_path, "w") as f:
            f.write("{}\n")
        with open(self.stderr_path, "wb") as stderr:
            start = time.monotonic()
            self.metrics_port = free_port()
            self.process = subprocess.Popen(
                [INTACTD, "--config", self.config_path, "--socket",
                 self.socket_path, "--metrics-address",
                 "127.0.0.1:%d" % self.metrics_port],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=stderr, start_new_session=True)
        wait_for_text(self.stderr_path, "ready", self.process)
        self.ready_seconds = time.monotonic() - start
        if subscribe:
            self.subscriber = Subscriber(self.socket_path, self.markers)
            deadline = time.monotonic() + 10
            while "connected" not in self.stderr_text():
                if time.monotonic() > deadline:
                    raise BenchError("the subscriber did not connect to %s"
                                     % self.socket_path)
                time.sleep(0.01)

    def records(self):
        """intact_ring_buffer_records_total from intactd's metrics."""
        url = "http://127.0.0.1:%d/metrics" % self.metrics_port
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        m = re.search(r"(?m)^intact_ring_buffer_records_total (\d+)$", text)
        if not m:
            raise BenchError("%s has no intact_ring_buffer_records_total" % url)
        return int(m.group(1))

    def stderr_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        self.stop_seconds = process_stop(self.process)
        if self.subscriber:
            self.subscriber.stop()
        self.process = None


class NoMonitor:
    name = "baseline"

    def start(self):
        pass

    def stop(self):
        pass


class Floor:
    name = "floor"

    def __init__(self, work_dir):
        self.stderr_path = os.path.join(work_dir, "floor.stderr")
        self.process = None

    def start(self):
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [FLOOR], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=stderr, start_new_session=True)
        wait_for_text(self.stderr_path, "ready", self.process)

    def stop(self):
        process_stop(self.process)


class Auditd:
    """Debian's auditd with rules on the exec and write syscalls intactd watches.

    auditd runs in the foreground (-n) from a configuration directory of
    this run, logging to a file there. stop() deletes the rules and sets the
    audit state back to what it was.
    """

    name = "auditd"

    def __init__(self, work_dir):
        self.conf_dir = os.path.join(work_dir, "audit")
        self.log_path = os.path.join(self.conf_dir, "audit.log")
        self.process = None
        self.saved = None
        self.unavailable = None

    @staticmethod
    def status():
        result = run(["auditctl", "-s"], check=False)
        if result.returncode != 0:
            return None
        values = {}
        for line in result.stdout.splitlines():
            key, _, value = line.partition(" ")
            values[key] = value.split()[0] if value else ""
        return values

    def check(self):
        """Return None when auditd can run here, else the reason it cannot."""
        if not shutil.which("auditd") or not shutil.which("auditctl"):
            return "auditd is not installed (scripts/install-deps.sh bench)"
        status = self.status()
        if status is None:
            result = run(["auditctl", "-s"], check=False)
            return "the kernel rejected the audit netlink request: %s" % (
                result.stderr.strip() or "auditctl -s failed")
        if status.get("pid", "0") != "0":
            return "another audit daemon (pid %s) is running" % status["pid"]
        if run(["auditctl", "-l"], check=False).stdout.strip() != "No rules":
            return "audit rules are already loaded"
        return None

    def start(self):
        self.saved = self.status()
        os.makedirs(self.conf_dir, mode=0o750, exist_ok=True)
        with open("/etc/audit/auditd.conf") as f:
            conf = f.read()
        conf = re.sub(r"(?m)^log_file\s*=.*$", "log_file = " + self.log_path,
                      conf)
        # auditd reads only a configuration file that root owns and no one
        # else may write.
        conf_path = os.path.join(self.conf_dir, "auditd.conf")
        with open(conf_path, "w") as f:
            f.write(conf)
        os.chmod(conf_path, 0o640)
        self.process = subprocess.Popen(
            ["auditd", "-n", "-c", self.conf_dir], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            status = self.status() or {}
            if status.get("pid") == str(self.process.pid):
                break
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BenchError("auditd did not register with the kernel")
            time.sleep(0.05)
        run(["auditctl", "-b", AUDIT_BACKLOG])
        for rule in AUDIT_RULES:
            run(["auditctl"] + rule)

    def stop(self):
        run(["auditctl", "-D"], check=False)
        process_stop(self.process)
        self.process = None
        if self.saved:
            run(["auditctl", "-e", self.saved.get("enabled", "0")], check=False)
            run(["auditctl", "-b", self.saved.get("backlog_limit", "64")],
                check=False)

    def lost(self):
        """Audit records the kernel dropped since start()."""
        status = self.status() or {}
        before = int((self.saved or {}).get("lost", "0") or 0)
        return int(status.get("lost", "0") or 0) - before


class Redis:
    """redis-server on 127.0.0.1, on the host (not in a container)."""

    def __init__(self, work_dir):
        self.work_dir = work_dir
        self.process = None
        self.port = None

    def start(self):
        self.port = free_port()
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--dir", self.work_dir,
             "--protected-mode", "yes"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            result = run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port),
                          "ping"], check=False)
            if result.stdout.strip() == "PONG":
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BenchError("redis-server did not respond to PING on "
                                 "127.0.0.1:%d" % self.port)
            time.sleep(0.1)

    def benchmark(self, requests):
        """Run redis-benchmark; return requests per second by test (SET, GET)."""
        result = run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(self.port),
                      "-q", "-n", str(requests), "-t", "set,get", "-P", "1",
                      "--csv"], timeout=600)
        rps = {}
        for line in result.stdout.splitlines():
            fields = [f.strip('"') for f in line.split(",")]
            if len(fields) >= 2 and fields[0] in ("SET", "GET"):
                rps[fields[0]] = float(fields[1])
        if len(rps) != 2:
            raise BenchError("unexpected redis-benchmark output:\n%s"
                             % result.stdout)
        return rps

    def stop(self):
        process_stop(self.process)


# ---------------------------------------------------------------- statistics

def median_range(values):
    """(median, min, max) of a list, or None when it is empty."""
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))
    return ordered[index]


def fmt_ratio(stats):
    if stats is None:
        return "n/a"
    median, low, high = stats
    return "%.3f (%.3f–%.3f)" % (median, low, high)


def fmt_number(value, unit="", digits=0):
    if value is None:
        return "n/a"
    return ("{:,.%df}" % digits).format(value) + unit


# ---------------------------------------------------------------- scenarios

# Overhead scenarios: (key, label, how the figure is measured, target).
SCENARIOS = [
    ("openw_allowed", "open for write + close, /tmp (allowed)", "ns/op", "≤ 1.05"),
    ("openw_protected", "open for write + close, /etc (alert each)", "ns/op", "—"),
    ("openr", "read-only open + close", "ns/op", "within noise"),
    ("getppid", "getppid", "ns/op", "within 2 % of floor"),
    ("forkexec", "fork + exec of a static binary", "ns/op", "≤ 1.03"),
    ("redis_set", "redis-benchmark SET on the host", "req/s", "—"),
    ("redis_get", "redis-benchmark GET on the host", "req/s", "—"),
]


class Suite:
    def __init__(self, settings, work_dir):
        self.s = settings
        self.work_dir = work_dir
        self.containers = Containers()
        self.redis = Redis(work_dir)
        self.values = {key: {} for key, *_ in SCENARIOS}
        self.protected = {"ops": 0, "delivered": 0, "lost_sources": {},
                          "seconds": 0.0, "rates": []}
        self.audit_unavailable = None
        self.audit_lost = 0
        self.other_programs = []
        # Ring buffer records intactd read, and operations, per scenario.
        self.records = {}
        self.record_ops = {}
        self.other_intactd = []
        self.loadavg = []
        self.report = {}

    # The alternating comparison.

    def measure_overhead(self, monitor):
        """Run every overhead scenario once under the started monitor."""
        name = monitor.name
        subscriber = getattr(monitor, "subscriber", None)
        for key, path, mode in (
                ("openw_allowed", ALLOWED_PATH, "openw"),
                ("openw_protected", PROTECTED_PATH, "openw"),
                ("openr", READ_PATH, "openr")):
            before = subscriber.snapshot() if subscriber else None
            records = monitor.records() if subscriber else 0
            result = self.containers.loadgen(mode, path, self.s.seconds)
            self.record(key, name, float(result["ns_per_op"]))
            if subscriber:
                subscriber.wait_settled()
                self.records[key] = self.records.get(key, 0) + \
                    monitor.records() - records
                self.record_ops[key] = self.record_ops.get(key, 0) + \
                    int(result["ops"])
            if subscriber and key == "openw_protected":
                self.protected_account(before, subscriber.snapshot(), result)
        for key, args in (("getppid", ["getppid", self.s.seconds]),
                          ("forkexec", ["forkexec", "/bench/loadgen",
                                        self.s.seconds])):
            result = self.containers.loadgen(*args)
            self.record(key, name, float(result["ns_per_op"]))
        if subscriber:
            subscriber.wait_quiet()
        rps = self.redis.benchmark(self.s.redis_requests)
        self.record("redis_set", name, rps["SET"])
        self.record("redis_get", name, rps["GET"])

    def record(self, key, config, value):
        self.values[key].setdefault(config, []).append(value)

    def protected_account(self, before, after, result):
        delivered = after[0][PROTECTED_PATH] - before[0][PROTECTED_PATH]
        ops = int(result["ops"])
        seconds = int(result["ns"]) / 1e9
        p = self.protected
        p["ops"] += ops
        p["delivered"] += delivered
        for source, count in after[3].items():
            p["lost_sources"][source] = (p["lost_sources"].get(source, 0) +
                                         count - before[3].get(source, 0))
        p["seconds"] += seconds
        p["rates"].append(delivered / seconds)

    def run_rounds(self):
        intactd = Intactd(self.work_dir, markers=[PROTECTED_PATH])
        monitors = [NoMonitor(), intactd, Auditd(self.work_dir),
                    Floor(self.work_dir)]
        self.audit_unavailable = monitors[2].check()
        if self.audit_unavailable:
            log("auditd column unavailable: %s" % self.audit_unavailable)
            monitors.pop(2)
        for round_number in range(1, self.s.rounds + 1):
            for monitor in monitors:
                log("round %d/%d: %s" % (round_number, self.s.rounds,
                                         monitor.name))
                if monitor.name == "baseline":
                    self.other_programs.append(bpf_tracing_programs())
                self.other_intactd.append(len(other_intactd_pids(set())))
                self.loadavg.append(os.getloadavg()[0])
                monitor.start()
                try:
                    self.measure_overhead(monitor)
                    if monitor.name == "auditd":
                        self.audit_lost += monitor.lost()
                finally:
                    monitor.stop()

    def overhead_rows(self):
        rows = []
        for key, label, unit, target in SCENARIOS:
            per_config = self.values[key]
            base = per_config.get("baseline", [])
            row = {"key": key, "label": label, "unit": unit, "target": target,
                   "baseline": median_range(base)}
            for config in ("intactd", "auditd", "floor"):
                values = per_config.get(config, [])
                if unit == "req/s":
                    ratios = [b / v for b, v in zip(base, values) if v]
                else:
                    ratios = [v / b for b, v in zip(base, values) if b]
                row[config] = median_range(ratios)
            intactd = per_config.get("intactd", [])
            floor = per_config.get("floor", [])
            if unit == "req/s":
                ratios = [f / i for i, f in zip(intactd, floor) if i]
            else:
                ratios = [i / f for i, f in zip(intactd, floor) if f]
            row["intactd_floor"] = median_range(ratios)
            rows.append(row)
        return rows

    # intactd alone: sustained rate, latency, CPU, memory, start-up.

    def run_sustained(self):
        steps = []
        intactd = Intactd(self.work_dir, markers=[RATE_PATH])
        intactd.start()
        try:
            sub = intactd.subscriber
            pid = intactd.process.pid
            for rate in self.s.sustained_rates:
                log("sustained rate: %d events/s for %g s"
                    % (rate, self.s.sustained_seconds))
                stderr_before = len(intactd.stderr_text())
                before = sub.snapshot()
                cpu_before = proc_cpu_seconds(pid)
                result = self.containers.loadgen(
                    "rate", RATE_PATH, rate, self.s.sustained_seconds,
                    timeout=self.s.sustained_seconds * 4 + 60)
                sub.wait_settled()
                cpu = proc_cpu_seconds(pid) - cpu_before
                after = sub.snapshot()
                ops = int(result["ops"])
                delivered = after[0][RATE_PATH] - before[0][RATE_PATH]
                notices = [line for line in
                           intactd.stderr_text()[stderr_before:].splitlines()
                           if "lost" in line or "full" in line or
                           "drop" in line]
                step = {
                    "rate": rate,
                    "achieved": float(result["rate_achieved"]),
                    "ops": ops,
                    "delivered": delivered,
                    "lost_reported": after[1] - before[1],
                    "lost_sources": {k: v - before[3].get(k, 0)
                                     for k, v in after[3].items()
                                     if v - before[3].get(k, 0)},
                    "cpu_ms_per_1000": (cpu * 1000 / (delivered / 1000)
                                        if delivered else None),
                    "notices": notices[:3],
                    "notice_count": len(notices),
                }
                steps.append(step)
                log("  achieved %.0f/s, %d of %d delivered, %d reported lost"
                    % (step["achieved"], delivered, ops, step["lost_reported"]))
                if delivered < ops or step["lost_reported"] or \
                        step["achieved"] < 0.95 * rate:
                    break
            self.report["sustained_hwm_kib"] = proc_memory_kib(pid, "VmHWM")

            log("latency: %d files/s for %g s" % (self.s.latency_rate,
                                                  self.s.latency_seconds))
            before = sub.snapshot()
            result = self.containers.loadgen("latency", "/etc",
                                             self.s.latency_rate,
                                             self.s.latency_seconds)
            sub.wait_quiet(quiet=1.0)
            latencies = sub.snapshot()[2][len(before[2]):]
            self.report["latency"] = {
                "ops": int(result["ops"]),
                "received": len(latencies),
                "p50_ms": (percentile(latencies, 50) or 0) / 1e6,
                "p99_ms": (percentile(latencies, 99) or 0) / 1e6,
                "max_ms": max(latencies) / 1e6 if latencies else None,
            }
        finally:
            intactd.stop()
        self.report["sustained"] = steps

    def intactd_startups(self, label):
        """Start and stop intactd (no subscriber); record ready, RSS and stop."""
        runs = []
        for _ in range(self.s.startup_repeats):
            intactd = Intactd(self.work_dir)
            intactd.start(subscribe=False)
            try:
                time.sleep(2)
                rss = proc_memory_kib(intactd.process.pid, "VmRSS")
            finally:
                intactd.stop()
            runs.append({"ready": intactd.ready_seconds, "rss_kib": rss,
                         "stop": intactd.stop_seconds})
            log("%s: ready in %.2f s, RSS %d KiB, stopped in %.2f s"
                % (label, intactd.ready_seconds, rss, intactd.stop_seconds))
        self.report["startup_" + label] = runs

    def run_resources(self):
        self.intactd_startups("idle")
        log("starting %d idle containers" % self.s.containers)
        try:
            for _ in range(self.s.containers):
                self.containers.start_idle()
            self.report["containers_running"] = Containers.running_count()
            self.intactd_startups("containers")
        finally:
            self.containers.remove_detached()

    # Layer digest against sha256sum.

    def run_digest(self):
        data = os.path.join(self.work_dir, "digest-data")
        total = self.s.digest_mib << 20
        log("writing %d MiB of digest data" % self.s.digest_mib)
        # Half the bytes in 4 large files, half in 1024 small ones.
        sizes = [total // 8] * 4 + [total // 2 // 1024] * 1024
        paths = []
        for i, size in enumerate(sizes):
            directory = os.path.join(data, "d%02d" % (i % 32))
            os.makedirs(directory, exist_ok=True)
            path = os.path.join(directory, "f%04d" % i)
            with open(path, "wb") as f:
                remaining = size
                while remaining:
                    chunk = min(remaining, 1 << 20)
                    f.write(os.urandom(chunk))
                    remaining -= chunk
            paths.append(path)
        file_list = b"\0".join(p.encode() for p in paths)

        def sha256sum_seconds():
            start = time.monotonic()
            subprocess.run(["xargs", "-0", "sha256sum"], input=file_list,
                           stdout=subprocess.DEVNULL, check=True)
            return time.monotonic() - start

        def digest_seconds():
            result = run([DIGEST, data], timeout=600)
            values = dict(t.partition("=")[::2] for t in result.stdout.split())
            if values.get("errors") != "0":
                raise BenchError("the layer digest reported errors: %s"
                                 % result.stdout)
            return float(values["seconds"]), int(values["bytes"])

        # One untimed pass of each puts every file in the page cache.
        digest_seconds()
        sha256sum_seconds()
        rows = []
        for _ in range(max(3, self.s.rounds)):
            seconds, hashed = digest_seconds()
            sha_seconds = sha256sum_seconds()
            rows.append((hashed / seconds / 2**20, total / sha_seconds / 2**20))
        shutil.rmtree(data)
        self.report["digest"] = {
            "digest_mib_s": median_range([r[0] for r in rows]),
            "sha256sum_mib_s": median_range([r[1] for r in rows]),
            "ratio": median_range([r[0] / r[1] for r in rows]),
        }


# ---------------------------------------------------------------- report

def host_description():
    uname = os.uname()
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = proc_meminfo_gib()
    commit = run(["git", "-C", REPO_ROOT, "rev-parse", "--short", "HEAD"],
                 check=False).stdout.strip() or "unknown"
    dirty = run(["git", "-C", REPO_ROOT, "status", "--porcelain", "--",
                 "src", "bpf", "include"], check=False).stdout.strip()
    containerd = run(["ctr", "version"], check=False).stdout
    m = re.search(r"Server:.*?Version:\s*(\S+)", containerd, re.S)
    return ("kernel %s, %d CPUs (%s), %.0f GiB RAM, containerd %s; "
            "intactd built from %s%s"
            % (uname.release, os.cpu_count(), model, memory,
               m.group(1) if m else "unknown", commit,
               " with uncommitted changes" if dirty else ""))


def proc_meminfo_gib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    return 0.0


def lost_text(sources):
    parts = ["%s %s" % (fmt_number(count), source)
             for source, count in sorted(sources.items()) if count]
    return ", ".join(parts) if parts else "none"


def sustained_result(step):
    missing = step["ops"] - step["delivered"]
    if missing or step["lost_reported"]:
        return "%s missing" % fmt_number(missing)
    if step["achieved"] < 0.95 * step["rate"]:
        return "all delivered; the generator fell short"
    return "all delivered"


def report_markdown(suite, settings, started, elapsed, interference):
    r = suite.report
    out = []
    w = out.append
    w("# intact benchmark, %s" % started.strftime("%Y-%m-%d %H:%M UTC"))
    w("")
    w("- Host: %s." % host_description())
    w("- Settings: %s; the suite took %.1f minutes." % (settings.describe(),
                                                      elapsed / 60))
    w("- intactd: built-in default policy, stdout to /dev/null, metrics on "
      "127.0.0.1, one subscriber (`intactctl events`) on its socket.")
    w("- auditd: %s." % (
        "unavailable: " + suite.audit_unavailable if suite.audit_unavailable
        else "Debian's auditd, exec rule and write rule (`-F perm=wa`) on "
        "%d syscalls, backlog %s; the kernel dropped %d audit records"
        % (len(AUDIT_SYSCALLS_WRITE.split(",")) + 2, AUDIT_BACKLOG,
           suite.audit_lost)))
    w("- Interference: %s." % interference)
    w("")
    w("## Cost relative to no monitor")
    w("")
    w("Each cell is the median over %d rounds of the cost relative to the "
      "no-monitor baseline of the same round, with the lowest and highest "
      "round in brackets: time per operation divided by the baseline's, or "
      "for redis the baseline's requests per second divided by the "
      "configuration's. 1.000 means no cost. The baseline column is the "
      "absolute median." % settings.rounds)
    w("")
    w("| scenario | baseline | intactd | auditd | floor | intactd ÷ floor "
      "| target (intactd) |")
    w("|---|---|---|---|---|---|---|")
    for row in suite.overhead_rows():
        base = row["baseline"]
        if base is None:
            base_text = "n/a"
        elif row["unit"] == "req/s":
            base_text = "%s req/s" % fmt_number(base[0])
        else:
            base_text = "%s ns/op" % fmt_number(base[0], digits=0)
        auditd = ("unavailable" if suite.audit_unavailable
                  else fmt_ratio(row["auditd"]))
        w("| %s | %s | %s | %s | %s | %s | %s |"
          % (row["label"], base_text, fmt_ratio(row["intactd"]), auditd,
             fmt_ratio(row["floor"]), fmt_ratio(row["intactd_floor"]),
             row["target"]))
    p = suite.protected
    w("")
    if p["seconds"]:
        w("Protected writes under intactd: %s alerts/s delivered to the "
          "subscriber (median of rounds %s–%s); %s of %s operations "
          "delivered, lost in the stream: %s."
          % (fmt_number(statistics.median(p["rates"])),
             fmt_number(min(p["rates"])), fmt_number(max(p["rates"])),
             fmt_number(p["delivered"]), fmt_number(p["ops"]),
             lost_text(p["lost_sources"])))
    if suite.record_ops:
        w("")
        w("Ring buffer records intactd read per operation (from its "
          "`intact_ring_buffer_records_total` metric): %s."
          % ", ".join("%s %.2f" % (key, suite.records[key] / ops)
                      for key, ops in suite.record_ops.items() if ops))
    w("")
    w("## Sustained alert rate (intactd, default buffer sizes)")
    w("")
    w("The load generator opens %s for write at a fixed rate for %g s per "
      "step; a step passes when the subscriber receives every event. Target: "
      "≥ 50,000 events/s." % (RATE_PATH, settings.sustained_seconds))
    w("")
    w("| target rate | achieved | operations | delivered | reported lost "
      "| result | intactd CPU ms per 1,000 events | intactd stderr |")
    w("|---|---|---|---|---|---|---|---|")
    for step in r.get("sustained", []):
        notices = ("%d line(s), e.g. `%s`" % (step["notice_count"],
                                              step["notices"][0])
                   if step["notices"] else "—")
        w("| %s/s | %s/s | %s | %s | %s | %s | %s | %s |"
          % (fmt_number(step["rate"]), fmt_number(step["achieved"]),
             fmt_number(step["ops"]), fmt_number(step["delivered"]),
             lost_text(step.get("lost_sources", {})), sustained_result(step),
             fmt_number(step["cpu_ms_per_1000"], digits=1), notices))
    lossless = [s["achieved"] for s in r.get("sustained", [])
                if s["delivered"] == s["ops"] and not s["lost_reported"]]
    w("")
    w("Highest rate delivered in full: %s."
      % (fmt_number(max(lossless), " events/s") if lossless else "none"))
    w("")
    w("## Latency, syscall to subscriber")
    w("")
    lat = r.get("latency")
    if lat:
        w("%s files created in /etc at %d/s, each named after CLOCK_REALTIME "
          "just before its open; %s events received. Latency is the "
          "subscriber's read time minus that name. Target: p99 ≤ 10 ms."
          % (fmt_number(lat["ops"]), settings.latency_rate,
             fmt_number(lat["received"])))
        w("")
        w("| p50 | p99 | max |")
        w("|---|---|---|")
        w("| %.2f ms | %.2f ms | %s ms |" % (
            lat["p50_ms"], lat["p99_ms"],
            fmt_number(lat["max_ms"], digits=2)))
    w("")
    w("## intactd's resources")
    w("")
    w("| measurement | no bench containers | with %d idle bench containers "
      "(%s running in all) | target |"
      % (settings.containers, r.get("containers_running", "n/a")))
    w("|---|---|---|---|")

    def startup_cell(label, key, scale=1.0, digits=2, unit=""):
        runs = r.get("startup_" + label, [])
        values = [x[key] * scale for x in runs if x[key] is not None]
        stats = median_range(values)
        if stats is None:
            return "n/a"
        return "%s%s (%s–%s)" % (fmt_number(stats[0], digits=digits), unit,
                                 fmt_number(stats[1], digits=digits),
                                 fmt_number(stats[2], digits=digits))

    w("| start-up to `ready` | %s | %s | — |"
      % (startup_cell("idle", "ready", unit=" s"),
         startup_cell("containers", "ready", unit=" s")))
    w("| resident memory (VmRSS) 2 s after `ready` | %s | %s | ≤ 32 MiB |"
      % (startup_cell("idle", "rss_kib", 1 / 1024, 1, " MiB"),
         startup_cell("containers", "rss_kib", 1 / 1024, 1, " MiB")))
    w("| shutdown after SIGTERM | %s | %s | — |"
      % (startup_cell("idle", "stop", unit=" s"),
         startup_cell("containers", "stop", unit=" s")))
    if r.get("sustained_hwm_kib"):
        w("")
        w("Peak resident memory (VmHWM) after the sustained rate test: "
          "%.1f MiB." % (r["sustained_hwm_kib"] / 1024))
    w("")
    w("## Layer digest throughput")
    w("")
    d = r.get("digest")
    if d:
        w("`layer_digest_from_dir` (bench/digest.c) against `sha256sum` of "
          "the same %d MiB (4 large files and 1,024 small ones, in the page "
          "cache). Target: ≥ 0.8×." % settings.digest_mib)
        w("")
        w("| layer digest | sha256sum | ratio |")
        w("|---|---|---|")
        w("| %s MiB/s | %s MiB/s | %s |" % (
            fmt_number(d["digest_mib_s"][0]),
            fmt_number(d["sha256sum_mib_s"][0]), fmt_ratio(d["ratio"])))
    w("")
    return "\n".join(out)


def interference_description(programs_at_start, suite, other_pids):
    counts = [c for c in suite.other_programs if c is not None]
    text = ("%d other intactd process(es) running at the start; "
            "%s tracepoint or tracing BPF programs loaded at the start"
            % (len(other_pids), "unknown" if programs_at_start is None
               else programs_at_start))
    if counts:
        text += (", %d–%d during the baseline rounds (anything above 0 "
                 "puts every task on the slow syscall path, baseline "
                 "included)" % (min(counts), max(counts)))
    if suite.other_intactd:
        busy = sum(1 for n in suite.other_intactd if n)
        text += ("; other intactd processes were running during %d of %d "
                 "measurements (they handle the bench containers' events "
                 "too); 1-minute load average %.1f–%.1f"
                 % (busy, len(suite.other_intactd), min(suite.loadavg),
                    max(suite.loadavg)))
    return text


# ---------------------------------------------------------------- main

def prerequisites_check():
    if os.geteuid() != 0:
        raise BenchError("the benchmark loads BPF programs and runs "
                         "containers, so it must run as root (uid 0)")
    for path in (INTACTD, INTACTCTL, LOADGEN, FLOOR, DIGEST):
        if not os.access(path, os.X_OK):
            raise BenchError("%s not found; build it with 'make bench'" % path)
    for tool in ("ctr", "umoci", "redis-server", "redis-benchmark",
                 "redis-cli", "bpftool", "sha256sum", "xargs"):
        if not shutil.which(tool):
            raise BenchError("%s not found; run scripts/install-deps.sh bench"
                             % tool)


def terminate(signum, frame):
    raise KeyboardInterrupt


def main():
    signal.signal(signal.SIGTERM, terminate)
    settings = Settings()
    prerequisites_check()
    run([os.path.join(REPO_ROOT, "scripts", "containerd-up.sh")])
    started = datetime.datetime.now(datetime.timezone.utc)
    start = time.monotonic()
    work_dir = tempfile.mkdtemp(prefix="intact-bench-")
    os.chmod(work_dir, 0o755)
    suite = Suite(settings, work_dir)
    own_pids = {os.getpid()}
    other_pids = other_intactd_pids(own_pids)
    programs_at_start = bpf_tracing_programs()
    if other_pids or programs_at_start:
        log("warning: %d other intactd process(es) and %s tracing BPF "
            "programs are running; they slow the baseline too"
            % (len(other_pids), programs_at_start))
    try:
        Containers.remove_leftovers()
        image_ensure(work_dir)
        suite.redis.start()
        log(settings.describe())
        suite.run_rounds()
        suite.redis.stop()
        suite.run_sustained()
        suite.run_resources()
        suite.run_digest()
    finally:
        suite.redis.stop()
        suite.containers.remove_detached()
        shutil.rmtree(work_dir, ignore_errors=True)

    elapsed = time.monotonic() - start
    markdown = report_markdown(
        suite, settings, started, elapsed,
        interference_description(programs_at_start, suite, other_pids))
    os.makedirs(RESULTS_DIR, exist_ok=True)
    dated = os.path.join(RESULTS_DIR, "%s%s.md" % (
        started.strftime("%Y-%m-%d-%H%M"), "-quick" if settings.quick else ""))
    for path in (dated, os.path.join(RESULTS_DIR, "latest.md")):
        with open(path, "w") as f:
            f.write(markdown + "\n")
    print(markdown)
    log("report written to %s and %s" % (os.path.relpath(dated, REPO_ROOT),
                                        "bench/results/latest.md"))


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        log("error: %s" % e)
        sys.exit(1)
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
