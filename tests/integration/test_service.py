"""Integration tests of intactd as a service: sd_notify, metrics and config.

The notify tests bind the datagram socket that intactd reads from
NOTIFY_SOCKET, as systemd does for a Type=notify service, and record each
message with the time it arrived. The metrics test scrapes /metrics over
loopback and checks it with promtool from Debian's prometheus package. The
configuration tests write files into a temporary directory, run
`intactd --check-config`, or start intactd with --config and send it SIGHUP.

Every daemon started here has its own socket in a temporary directory and
its own metrics port on 127.0.0.1, so an intactd of another run keeps its
socket and port.
"""

import http.client
import os
import re
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import uuid

from harness import REPO_ROOT, EVENT_TIMEOUT, TestFailure, field, test
from test_file import READONLY_RULE, run_container

NOTIFY_RECEIVE_TIMEOUT = 0.2
# The value given to intactd in WATCHDOG_USEC: one second.
WATCHDOG_USEC = 1000000
WATCHDOG_WINDOW = 3.0
# intactd copies its counters to the metrics server once per second
# (STATS_INTERVAL_USEC in src/intactd.c), late by at most sd-event's default
# timer accuracy of 250 ms, so the tests wait 1.5 times this.
METRICS_REFRESH = 1.0
# metrics.health_timeout in seconds for the metrics test: the minimum.
HEALTH_TIMEOUT = 2
RELOAD_TIMEOUT = 10.0
CHECK_CONFIG_TIMEOUT = 10.0
HTTP_TIMEOUT = 5.0
PROMTOOL = "promtool"
SHIPPED_CONFIG = os.path.join(REPO_ROOT, "packaging", "intactd.yaml")

# The last command of a container whose events a test checks for absence.
# intactd reports the failed unlink as write_readonly_path under every
# configuration these tests use, because none makes /bin writable. Once
# that event is in, every earlier event of the container is in too.
BARRIER_PATH = "/bin/barrier-file"
BARRIER = "probe unlink " + BARRIER_PATH

DEFAULT_WRITABLE = ["/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm"]


def free_port():
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def file_write(path, text):
    """Replace path with text in one rename, so intactd reads all or none."""
    temporary = path + ".new"
    with open(temporary, "w") as f:
        f.write(text)
    os.replace(temporary, path)


def writable_config(paths):
    return "policy:\n  writable: [%s]\n" % ", ".join(paths)


class ServiceDaemon:
    """Settings of one intactd started by a test of this file."""

    def __init__(self, t, prefix):
        self.directory = tempfile.mkdtemp(prefix="intact-%s-" % prefix)
        self.socket_path = os.path.join(self.directory, "events.sock")
        self.config_path = os.path.join(self.directory, "intactd.yaml")
        self.metrics_port = free_port()
        self.t = t

    def args(self, config=True):
        args = ["--socket", self.socket_path,
                "--metrics-address", "127.0.0.1:%d" % self.metrics_port]
        if config:
            args += ["--config", self.config_path]
        return args

    def start(self, extra_args=(), environment=None, config=True):
        """Restart the test's intactd with these settings.

        environment contains variables that only this intactd gets.
        """
        saved = {}
        for key, value in (environment or {}).items():
            saved[key] = os.environ.get(key)
            os.environ[key] = value
        try:
            self.t.restart_daemon(self.args(config) + list(extra_args))
        finally:
            for key, value in saved.items():
                if value is None:
                    del os.environ[key]
                else:
                    os.environ[key] = value

    def http_get(self, path):
        """Return (status, content type, body) of GET path on the metrics
        port."""
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.metrics_port, timeout=HTTP_TIMEOUT)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read().decode("utf-8", "replace")
            return response.status, response.getheader("Content-Type"), body
        except OSError as e:
            raise TestFailure("GET http://127.0.0.1:%d%s failed: %s"
                              % (self.metrics_port, path, e))
        finally:
            connection.close()


class NotifyListener:
    """A notify socket that records what intactd sends to it.

    Each message is stored with the daemon's stderr at the moment it arrived,
    so that a test can tell whether intactd logged a line before it sent
    the message.
    """

    def __init__(self, t, address):
        self.t = t
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(NOTIFY_RECEIVE_TIMEOUT)
        self.messages = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.receive, daemon=True)
        self.thread.start()

    def receive(self):
        while not self.stopping.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            # The runner replaces t.daemon before it starts the new process,
            # so any message comes from the daemon that t.daemon names.
            stderr = self.t.daemon.stderr_text()
            with self.lock:
                self.messages.append(
                    (now, data.decode("utf-8", "replace"), stderr))

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def wait(self, predicate, description, after=-1, timeout=EVENT_TIMEOUT):
        """Return the index of the first message past after that predicate
        accepts."""
        deadline = time.monotonic() + timeout
        while True:
            for index, (_, text, _) in enumerate(self.snapshot()):
                if index > after and predicate(text):
                    return index
            if time.monotonic() >= deadline:
                raise TestFailure("no notify message with %s within %.1f s. "
                                  "Messages:\n%s" % (description, timeout,
                                                     self.describe()))
            time.sleep(0.05)

    def describe(self):
        messages = self.snapshot()
        if not messages:
            return "  (none)"
        start = messages[0][0]
        return "\n".join("  +%.3f s %r" % (when - start, text)
                         for when, text, _ in messages)

    def close(self):
        self.stopping.set()
        self.thread.join(NOTIFY_RECEIVE_TIMEOUT * 5)
        self.sock.close()


def notify_fields(text):
    """Return the NAME=VALUE lines of a notify message as a list of pairs."""
    pairs = []
    for line in text.split("\n"):
        if line:
            name, _, value = line.partition("=")
            pairs.append((name, value))
    return pairs


def has_field(text, name, value=None):
    for field_name, field_value in notify_fields(text):
        if field_name == name and (value is None or field_value == value):
            return True
    return False


def check_notify_sequence(t, listener):
    """Check READY=1, STATUS= and WATCHDOG=1 of a daemon that just started."""
    ready = listener.wait(lambda m: has_field(m, "READY", "1"), "READY=1")
    messages = listener.snapshot()
    _, ready_text, stderr_then = messages[ready]
    if not re.search(r"^intactd: info: ready", stderr_then, re.MULTILINE):
        t.fail("READY=1 arrived before intactd logged its 'ready' line, that "
               "is before the BPF programs were attached. stderr then:\n%s"
               % stderr_then)
    if not any(has_field(text, "STATUS") for _, text, _ in messages[:ready]):
        t.fail("no STATUS= message before READY=1, expected one while the "
               "BPF programs load. Messages:\n%s" % listener.describe())
    if not has_field(ready_text, "STATUS"):
        t.fail("the READY=1 message has no STATUS= line: %r" % ready_text)

    time.sleep(WATCHDOG_WINDOW)
    messages = listener.snapshot()
    window_start = messages[ready][0]
    pings = [when for when, text, _ in messages
             if has_field(text, "WATCHDOG", "1")
             and window_start <= when <= window_start + WATCHDOG_WINDOW]
    if len(pings) < 2:
        t.fail("%d WATCHDOG=1 messages within %.0f s of READY=1 with "
               "WATCHDOG_USEC=%d, expected at least 2. Messages:\n%s"
               % (len(pings), WATCHDOG_WINDOW, WATCHDOG_USEC,
                  listener.describe()))
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    if max(gaps) >= WATCHDOG_USEC / 1e6:
        t.fail("WATCHDOG=1 messages %.3f s apart, but systemd stops a service "
               "that sends none for WATCHDOG_USEC (%.1f s). Messages:\n%s"
               % (max(gaps), WATCHDOG_USEC / 1e6, listener.describe()))


def check_stop_notified(t, listener):
    """Stop intactd with SIGTERM and check that it sent STOPPING=1 first."""
    last = len(listener.snapshot()) - 1
    for _, text, _ in listener.snapshot():
        if has_field(text, "STOPPING", "1"):
            t.fail("STOPPING=1 arrived before SIGTERM. Messages:\n%s"
                   % listener.describe())
    code = t.daemon.stop()
    if code != 0:
        t.fail("intactd exited with code %s after SIGTERM, expected 0. "
               "stderr:\n%s" % (code, t.daemon.stderr_text()))
    listener.wait(lambda m: has_field(m, "STOPPING", "1"),
                  "STOPPING=1 after SIGTERM", after=last, timeout=2.0)


@test
def notify_ready_watchdog_stopping(t):
    daemon = ServiceDaemon(t, "notify")
    notify_path = os.path.join(daemon.directory, "notify.sock")
    listener = NotifyListener(t, notify_path)
    try:
        daemon.start(environment={"NOTIFY_SOCKET": notify_path,
                                  "WATCHDOG_USEC": str(WATCHDOG_USEC)},
                     config=False)
        check_notify_sequence(t, listener)

        # With no --config and no /etc/intact/intactd.yaml, a reload reads
        # the built-in defaults again, which is a valid configuration.
        last = len(listener.snapshot()) - 1
        os.kill(t.daemon.process.pid, signal.SIGHUP)
        reloading = listener.wait(lambda m: has_field(m, "RELOADING", "1"),
                                  "RELOADING=1 after SIGHUP", after=last)
        listener.wait(lambda m: has_field(m, "READY", "1"),
                      "READY=1 after RELOADING=1", after=reloading)

        check_stop_notified(t, listener)
    finally:
        listener.close()


@test
def notify_abstract_socket(t):
    # systemd writes an abstract socket address with a leading "@".
    name = "intact-notify-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
    daemon = ServiceDaemon(t, "notify")
    listener = NotifyListener(t, "\0" + name)
    try:
        daemon.start(environment={"NOTIFY_SOCKET": "@" + name},
                     config=False)
        listener.wait(lambda m: has_field(m, "READY", "1"),
                      "READY=1 on the abstract socket @" + name)
        check_stop_notified(t, listener)
    finally:
        listener.close()


METRIC_LINE = re.compile(
    r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$")


def series_name(name, labels=None):
    """Return name{label="value",...} as the text format writes it."""
    if not labels:
        return name
    return "%s{%s}" % (name, ",".join('%s="%s"' % pair for pair in labels))


def metric_value(text, name, labels=None):
    """Return the value of the series name{labels} in text, or 0 if absent."""
    expected = series_name(name, labels)
    for line in text.splitlines():
        match = METRIC_LINE.match(line)
        if match and match.group(1) + (match.group(2) or "") == expected:
            return float(match.group(3))
    return 0.0


def metrics_scrape(t, daemon):
    status, content_type, body = daemon.http_get("/metrics")
    if status != 200:
        t.fail("GET /metrics returned %d, expected 200: %r" % (status, body))
    if not content_type or not content_type.startswith(
            "text/plain; version=0.0.4"):
        t.fail("GET /metrics: Content-Type %r, expected the Prometheus text "
               "format 'text/plain; version=0.0.4'" % content_type)
    return body


def promtool_check(t, text):
    try:
        result = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                                capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise TestFailure("promtool not found: install Debian's prometheus "
                          "package with 'scripts/install-deps.sh test'")
    if result.returncode != 0 or result.stdout.strip() \
            or result.stderr.strip():
        t.fail("promtool check metrics exited with %d:\n%s%s\nmetrics:\n%s"
               % (result.returncode, result.stdout, result.stderr, text))


def stream_count(t, kind, rule):
    return sum(1 for e in t.events()
               if e.get("event") == kind and rule in field(e, "rules", []))


@test
def metrics_count_events(t):
    daemon = ServiceDaemon(t, "metrics")
    file_write(daemon.config_path,
               "metrics:\n  health_timeout: %d\n" % HEALTH_TIMEOUT)
    daemon.start()

    status, _, body = daemon.http_get("/healthz")
    if status != 200 or body != "ok\n":
        t.fail("GET /healthz returned %d %r, expected 200 'ok\\n'"
               % (status, body))
    status, _, body = daemon.http_get("/nothing")
    if status != 404:
        t.fail("GET /nothing returned %d, expected 404" % status)

    shell = [("kind", "exec"), ("rule", "shell_in_container")]
    readonly = [("kind", "file"), ("rule", READONLY_RULE)]
    first = metrics_scrape(t, daemon)
    promtool_check(t, first)
    if metric_value(first, "intact_build_info", [("version", "0.1.0")]) \
            != 1:
        t.fail("no intact_build_info{version=\"0.1.0\"} 1 in:\n%s" % first)

    # Let the health timeout and the first refreshes pass, so that the
    # counters can only move, and /healthz stay 200, through the periodic
    # refresh. Containers of other programs may have moved them already.
    time.sleep(HEALTH_TIMEOUT + METRICS_REFRESH)
    before = metrics_scrape(t, daemon)
    run = run_container(t, "echo x > /etc/x", hint="metrics")
    t.wait_event(lambda e: e.get("event") == "exec"
                 and "shell_in_container" in field(e, "rules", []),
                 "exec event with rule shell_in_container",
                 container=run.name)
    t.wait_event(lambda e: e.get("event") == "file"
                 and field(e, "file.path", None) == "/etc/x",
                 "file event for /etc/x", container=run.name)

    # Every event on stdout was counted before it was written, and the
    # server's copy of the counters is at most METRICS_REFRESH old, so after
    # that delay the scrape lies between two counts of the stream.
    for labels in (shell, readonly):
        series = series_name("intact_events_total", labels)
        kind, rule = labels[0][1], labels[1][1]
        seen_before = stream_count(t, kind, rule)
        time.sleep(METRICS_REFRESH * 1.5)
        after = metrics_scrape(t, daemon)
        seen_after = stream_count(t, kind, rule)
        old = metric_value(before, "intact_events_total", labels)
        value = metric_value(after, "intact_events_total", labels)
        if value <= old:
            t.fail("%s did not increase after the container's event: %g "
                   "before, %g after" % (series, old, value))
        if not seen_before <= value <= seen_after:
            t.fail("%s is %g, but stdout had %d such events before the "
                   "scrape and %d after" % (series, value, seen_before,
                                            seen_after))
    promtool_check(t, after)
    if metric_value(after, "intact_ring_buffer_records_total") <= 0:
        t.fail("intact_ring_buffer_records_total is not positive after "
               "events:\n%s" % after)

    status, _, body = daemon.http_get("/healthz")
    if status != 200:
        t.fail("GET /healthz returned %d %r more than metrics.health_timeout "
               "(%d s) after the start of a working intactd, expected 200"
               % (status, body, HEALTH_TIMEOUT))


def reload_wait(t, marker, count):
    """Wait until stderr contains marker count times, after a SIGHUP."""
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while t.daemon.stderr_text().count(marker) < count:
        if not t.daemon.running():
            t.fail("intactd exited with code %s after SIGHUP. stderr:\n%s"
                   % (t.daemon.process.returncode, t.daemon.stderr_text()))
        if time.monotonic() >= deadline:
            t.fail("no %r on stderr within %.0f s of SIGHUP. stderr:\n%s"
                   % (marker, RELOAD_TIMEOUT, t.daemon.stderr_text()))
        time.sleep(0.05)


def write_then_barrier(t, path, hint):
    """Write path in a new container, wait for its barrier, return its name."""
    run = run_container(t, "echo x > %s && %s" % (path, BARRIER), hint=hint)
    t.wait_event(lambda e: e.get("event") == "file"
                 and field(e, "file.path_arg", None) == BARRIER_PATH,
                 "file event for the barrier %s" % BARRIER_PATH,
                 container=run.name)
    return run.name


def readonly_events(t, name, path):
    return [e for e in t.events(name)
            if e.get("event") == "file"
            and field(e, "file.path", None) == path
            and READONLY_RULE in field(e, "rules", [])]


@test
def config_reload_keeps_old_on_error(t):
    daemon = ServiceDaemon(t, "reload")
    file_write(daemon.config_path, writable_config(DEFAULT_WRITABLE
                                                   + ["/etc"]))
    daemon.start()

    name = write_then_barrier(t, "/etc/x", "reload-x")
    for event in readonly_events(t, name, "/etc/x"):
        t.fail("write to /etc/x reported although the configuration makes "
               "/etc writable", event)

    # Line 3 is indented less than the key above it but more than its
    # parent, which is invalid YAML.
    file_write(daemon.config_path,
               writable_config(DEFAULT_WRITABLE + ["/etc"]) + " broken\n")
    os.kill(t.daemon.process.pid, signal.SIGHUP)
    reload_wait(t, "configuration reload rejected", 1)
    stderr = t.daemon.stderr_text()
    location = "%s:3:" % daemon.config_path
    if location not in stderr:
        t.fail("the rejected reload names no %r (file and line of the "
               "error). stderr:\n%s" % (location, stderr))
    if "invalid YAML" not in stderr:
        t.fail("the rejected reload does not say the YAML is invalid. "
               "stderr:\n%s" % stderr)
    if not t.daemon.running():
        t.fail("intactd exited after a SIGHUP with an invalid file")

    name = write_then_barrier(t, "/etc/y", "reload-y")
    for event in readonly_events(t, name, "/etc/y"):
        t.fail("write to /etc/y reported after a rejected reload: the "
               "configuration that made /etc writable should stay", event)

    file_write(daemon.config_path, writable_config(DEFAULT_WRITABLE))
    os.kill(t.daemon.process.pid, signal.SIGHUP)
    reload_wait(t, "configuration reloaded from %s" % daemon.config_path, 1)

    name = write_then_barrier(t, "/etc/z", "reload-z")
    if not readonly_events(t, name, "/etc/z"):
        t.fail("no write_readonly_path event for /etc/z after a reload that "
               "removed /etc from policy.writable\n%s"
               % t.describe_events(name))

    seqs = [int(e["seq"]) for e in t.events()]
    if seqs != list(range(1, len(seqs) + 1)):
        gaps = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
        t.fail("stdout seqs are not 1, 2, 3, ... across the reloads: first "
               "gaps %s" % gaps[:10])
    for event in t.events():
        if event.get("event") == "lost":
            t.fail("events lost across the reloads", event)


# (description, file text, line, key, message part) of each invalid file.
INVALID_CONFIGS = [
    ("unknown key", "outputs:\n  stdout: true\n  bogus: 1\n", 3,
     "outputs.bogus", "unknown key"),
    # YAML 1.2 has no "yes" boolean, so this is a string.
    ("wrong type", "log:\n  level: info\noutputs:\n  stdout: yes\n", 4,
     "outputs.stdout", "wrong type"),
    ("out of range", "outputs:\n  socket:\n    queue_frames: 2\n", 3,
     "outputs.socket.queue_frames", "out of range"),
    ("duplicate key", "log:\n  level: info\n  level: debug\n", 3,
     "log.level", "duplicate key"),
    ("relative path", "policy:\n  writable: [/tmp, etc]\n", 2,
     "policy.writable", "must be absolute"),
    ("path with dot dot", "outputs:\n  socket:\n    path: /run/../x.sock\n",
     3, "outputs.socket.path", "invalid path"),
    ("invalid YAML", "log:\n  level: info\nnode:\n  name: a: b\n", 4,
     "node", "invalid YAML"),
]


def check_config_run(t, path):
    return subprocess.run(
        [t.runner.binary, "--check-config", "--config", path],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=CHECK_CONFIG_TIMEOUT)


@test
def check_config_rejects_errors(t):
    directory = tempfile.mkdtemp(prefix="intact-check-")
    failures = []
    for index, (description, text, line, key, message) in enumerate(
            INVALID_CONFIGS):
        path = os.path.join(directory, "case-%d.yaml" % index)
        file_write(path, text)
        result = check_config_run(t, path)
        location = "%s:%d:" % (path, line)
        output = result.stdout + result.stderr
        if result.returncode == 0:
            failures.append("%s: exit code 0, expected non-zero. output: %r"
                            % (description, output))
            continue
        if "configuration OK" in result.stdout:
            failures.append("%s: stdout says OK: %r"
                            % (description, result.stdout))
        for part in (location, key, message):
            if part not in result.stderr:
                failures.append("%s: stderr has no %r: %r"
                                % (description, part, result.stderr))
    if failures:
        t.fail("%d problems in %d invalid files:\n%s"
               % (len(failures), len(INVALID_CONFIGS), "\n".join(failures)))

    path = os.path.join(directory, "valid.yaml")
    file_write(path, "log:\n  level: debug\npolicy:\n  writable: [/tmp]\n")
    result = check_config_run(t, path)
    if result.returncode != 0:
        t.fail("--check-config exited with %d for a valid file: %r"
               % (result.returncode, result.stderr))
    if result.stdout != "configuration OK: %s\n" % path:
        t.fail("--check-config printed %r for a valid file, expected "
               "'configuration OK: %s'" % (result.stdout, path))

    missing = os.path.join(directory, "missing.yaml")
    result = check_config_run(t, missing)
    if result.returncode == 0 or missing not in result.stderr:
        t.fail("--check-config with the missing file %s exited with %d and "
               "printed %r, expected an error naming the file"
               % (missing, result.returncode, result.stderr))


@test
def check_config_shipped_default(t):
    result = check_config_run(t, SHIPPED_CONFIG)
    if result.returncode != 0:
        t.fail("--check-config rejected %s with exit code %d: %s"
               % (SHIPPED_CONFIG, result.returncode, result.stderr))
    if result.stdout != "configuration OK: %s\n" % SHIPPED_CONFIG:
        t.fail("--check-config printed %r for %s"
               % (result.stdout, SHIPPED_CONFIG))


def unix_socket_exists(path):
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except FileNotFoundError:
        return False


@test
def command_line_overrides_file(t):
    daemon = ServiceDaemon(t, "override")
    file_socket = os.path.join(daemon.directory, "from-file.sock")
    file_port = free_port()
    file_write(daemon.config_path,
               "outputs:\n  socket:\n    path: %s\nmetrics:\n"
               "  address: 127.0.0.1:%d\n" % (file_socket, file_port))
    daemon.start()

    if not unix_socket_exists(daemon.socket_path):
        t.fail("no socket at %s, the --socket path, which overrides "
               "outputs.socket.path" % daemon.socket_path)
    if os.path.exists(file_socket):
        t.fail("intactd created %s, the outputs.socket.path that --socket "
               "overrides" % file_socket)
    status, _, _ = daemon.http_get("/healthz")
    if status != 200:
        t.fail("GET /healthz on the --metrics-address port returned %d"
               % status)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(HTTP_TIMEOUT)
        if sock.connect_ex(("127.0.0.1", file_port)) == 0:
            t.fail("intactd listens on 127.0.0.1:%d, the metrics.address "
                   "that --metrics-address overrides" % file_port)

    # A reload reads the file again, and the command line still wins.
    os.kill(t.daemon.process.pid, signal.SIGHUP)
    reload_wait(t, "configuration reloaded from %s" % daemon.config_path, 1)
    if not unix_socket_exists(daemon.socket_path):
        t.fail("the socket %s is gone after a reload" % daemon.socket_path)
