"""Integration test harness: intactd, containers and the JSON event stream.

Tests register with the @test decorator and receive a TestContext. The runner
starts containerd when needed, builds the test image, runs build/intactd with
stdout and stderr in files under build/integration/, runs each test and
removes every container it created, even when a test fails.

Environment:
  INTACTD               daemon binary (default build/intactd)
  INTACTD_ARGS          extra daemon arguments, split like a shell would
  INTACT_EVENT_TIMEOUT  seconds to wait for an expected event (default 5)
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import traceback

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD_DIR = os.path.join(REPO_ROOT, "build")
RUN_DIR = os.path.join(BUILD_DIR, "integration")
PROBE_PATH = os.path.join(BUILD_DIR, "helpers", "probe")

NAMESPACE = "k8s.io"
CONTAINER_LABEL = "io.intact.test"
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
CONTAINER_TIMEOUT = 60.0
EVENT_TIMEOUT = float(os.environ.get("INTACT_EVENT_TIMEOUT", "5"))
POLL_INTERVAL = 0.05

MISSING = object()


class TestFailure(AssertionError):
    pass


class HarnessError(Exception):
    """A failure of the test setup rather than of the product."""


def log(message):
    print("integration: " + message, file=sys.stderr, flush=True)


def require_root():
    if os.geteuid() != 0:
        sys.exit("integration: these tests load BPF programs and run "
                 "containers, so they must run as root (uid 0), but "
                 "the current uid is %d" % os.geteuid())


def containerd_up():
    script = os.path.join(REPO_ROOT, "scripts", "containerd-up.sh")
    result = subprocess.run([script], capture_output=True, text=True)
    for line in (result.stdout + result.stderr).splitlines():
        log(line)
    if result.returncode != 0:
        raise HarnessError("scripts/containerd-up.sh failed with exit code %d"
                           % result.returncode)


def field(event, path, default=MISSING):
    """Return the value at a dotted path such as "process.parent.exe"."""
    value = event
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    return value


def format_event(event):
    return json.dumps(event, ensure_ascii=True, sort_keys=True)


class EventStream:
    """Incremental reader of the JSON lines that intactd writes to a file."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.events = []
        self.invalid_lines = []

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            if not line.strip():
                continue
            try:
                event = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                self.invalid_lines.append((len(self.events), line, str(e)))
                continue
            self.events.append(event)


class Daemon:
    """One run of intactd with its output in numbered files."""

    counter = 0

    def __init__(self, binary, args):
        self.binary = binary
        self.args = list(args)
        Daemon.counter += 1
        # The process id keeps the files of parallel runs apart.
        prefix = os.path.join(RUN_DIR, "intactd-%d-%d"
                              % (os.getpid(), Daemon.counter))
        self.stdout_path = prefix + ".stdout"
        self.stderr_path = prefix + ".stderr"
        self.process = None
        self.stream = EventStream(self.stdout_path)

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise HarnessError("%s not found or not executable. Build it with "
                               "'make' or set INTACTD" % self.binary)
        argv = [self.binary] + self.args
        log("starting %s" % " ".join(argv))
        with open(self.stdout_path, "wb") as stdout, \
                open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                start_new_session=True)

        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if "ready" in self.stderr_text():
                return
            if self.process.poll() is not None:
                raise HarnessError(
                    "intactd exited with code %d before printing 'ready'. "
                    "stderr:\n%s" % (self.process.returncode,
                                     self.stderr_text()))
            time.sleep(POLL_INTERVAL)
        self.stop()
        raise HarnessError("intactd printed no 'ready' line on stderr within "
                           "%.0f s. stderr:\n%s"
                           % (READY_TIMEOUT, self.stderr_text()))

    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        """Send SIGTERM, then SIGKILL after STOP_TIMEOUT, and return the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log("intactd (pid %d) ignored SIGTERM for %.0f s, killing it"
                    % (self.process.pid, STOP_TIMEOUT))
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _ctr(*args, timeout=30.0):
    return subprocess.run(["ctr", "-n", NAMESPACE] + list(args),
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def container_remove(name):
    """Remove a test container and its task, ignoring parts already gone."""
    _ctr("task", "kill", "--signal", "SIGKILL", name)
    _ctr("task", "delete", "--force", name)
    _ctr("container", "delete", name)


def containers_remove_leftovers():
    """Remove containers left by earlier runs that were killed.

    Container names start with "it-PID-", so the containers of a run that is
    still going on in parallel are kept.
    """
    result = _ctr("container", "list", "--quiet",
                  'labels."%s"==1' % CONTAINER_LABEL)
    for name in result.stdout.split():
        match = re.match(r"it-(\d+)-", name)
        if match and os.path.exists("/proc/" + match.group(1)):
            continue
        log("removing container %s left by an earlier run" % name)
        container_remove(name)


class TestContext:
    """What one test uses: its containers, its events and checks on them."""

    def __init__(self, runner, name):
        self.runner = runner
        self.name = name
        self.containers = []
        self.first_event = len(runner.daemon.stream.events)

    @property
    def daemon(self):
        return self.runner.daemon

    def restart_daemon(self, args):
        """Replace the running intactd with one started with extra args."""
        self.runner.daemon_restart(args)
        self.first_event = 0

    def container_name(self, hint):
        name = "it-%d-%d-%s" % (os.getpid(), len(self.runner.all_containers),
                                hint)
        self.containers.append(name)
        self.runner.all_containers.append(name)
        return name

    def run(self, argv, hint="c", annotations=None, expect_exit=0,
            options=()):
        """Run argv in a new container, wait for it to exit and return its name.

        options are extra flags for `ctr run`, such as "--allow-new-privs".
        """
        name = self.container_name(hint)
        command = ["ctr", "-n", NAMESPACE, "run", "--rm",
                   "--label", "%s=1" % CONTAINER_LABEL] + list(options)
        for key, value in (annotations or {}).items():
            command += ["--annotation", "%s=%s" % (key, value)]
        command += ["intact-test:latest", name] + list(argv)
        try:
            result = subprocess.run(command, stdin=subprocess.DEVNULL,
                                    capture_output=True,
                                    timeout=CONTAINER_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise TestFailure("container %s did not exit within %.0f s: %s"
                              % (name, CONTAINER_TIMEOUT, shlex.join(argv)))
        if expect_exit is not None and result.returncode != expect_exit:
            raise TestFailure(
                "container %s exited with %d, expected %d: %s\nstdout: %r\n"
                "stderr: %r" % (name, result.returncode, expect_exit,
                                shlex.join(argv), result.stdout,
                                result.stderr))
        return name

    def events(self, container=None):
        """Return the events seen since the test started, or the daemon's."""
        self.daemon.stream.poll()
        events = self.daemon.stream.events[self.first_event:]
        if container is not None:
            events = [e for e in events
                      if field(e, "container.id", None) == container]
        return events

    def describe_events(self, container=None, limit=40):
        events = self.events(container)
        scope = "container %s" % container if container else "this test"
        if not events:
            return "no events for %s" % scope
        lines = ["%d events for %s%s:" % (
            len(events), scope,
            ", the last %d follow" % limit if len(events) > limit else "")]
        lines += ["  " + format_event(e) for e in events[-limit:]]
        return "\n".join(lines)

    def wait_event(self, predicate, description, container=None,
                   timeout=None):
        """Poll the stream until an event matches, and fail after the timeout."""
        timeout = EVENT_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events(container):
                if predicate(event):
                    return event
            if not self.daemon.running():
                raise TestFailure(
                    "intactd exited with code %s while waiting for %s. "
                    "stderr:\n%s" % (self.daemon.process.returncode,
                                     description, self.daemon.stderr_text()))
            if time.monotonic() >= deadline:
                raise TestFailure("no %s within %.1f s\n%s"
                                  % (description, timeout,
                                     self.describe_events(container)))
            time.sleep(POLL_INTERVAL)

    def exec_event(self, container, args, timeout=None):
        """Wait for the exec event of container whose process.args is args."""
        return self.wait_event(
            lambda e: e.get("event") == "exec"
            and field(e, "process.args", None) == list(args),
            "exec event with args %s in container %s" % (json.dumps(args),
                                                    container),
            container=container, timeout=timeout)

    def fail(self, message, event=None):
        if event is not None:
            message += "\n  event: " + format_event(event)
        raise TestFailure(message)

    def check_field(self, event, path, expected):
        actual = field(event, path)
        if actual is MISSING:
            self.fail("%s: missing, expected %r" % (path, expected), event)
        if actual != expected or type(actual) is not type(expected):
            self.fail("%s: expected %r, got %r" % (path, expected, actual),
                      event)

    def check_field_in(self, event, path, allowed):
        actual = field(event, path)
        if actual not in allowed:
            allowed_shown = ["(no field)" if a is MISSING else a
                             for a in allowed]
            self.fail("%s: expected one of %r, got %r"
                      % (path, allowed_shown,
                         None if actual is MISSING else actual),
                      event)

    def check_field_matches(self, event, path, pattern):
        actual = field(event, path)
        if not isinstance(actual, str) or not re.fullmatch(pattern, actual):
            self.fail("%s: expected a string matching %r, got %r"
                      % (path, pattern, None if actual is MISSING else actual),
                      event)

    def check_field_absent(self, event, path):
        actual = field(event, path)
        if actual is not MISSING:
            self.fail("%s: expected no such field, got %r" % (path, actual),
                      event)

    def check_positive_int(self, event, path):
        actual = field(event, path)
        if type(actual) is not int or actual <= 0:
            self.fail("%s: expected a positive integer, got %r"
                      % (path, None if actual is MISSING else actual), event)

    def check_rule(self, event, rule):
        rules = field(event, "rules", [])
        if rule not in rules:
            self.fail("rules: expected %r among %r" % (rule, rules), event)

    def check_no_rule(self, event, rule):
        rules = field(event, "rules", [])
        if rule in rules:
            self.fail("rules: expected no %r, got %r" % (rule, rules), event)


TESTS = []


def test(function):
    """Register a test function taking a TestContext."""
    TESTS.append(function)
    return function


class Runner:
    def __init__(self, binary, base_args):
        self.binary = binary
        self.base_args = base_args
        self.daemon = None
        self.all_containers = []

    def daemon_restart(self, extra_args=()):
        if self.daemon is not None:
            self.daemon_stop()
        self.daemon = Daemon(self.binary, self.base_args + list(extra_args))
        self.daemon.start()

    def daemon_stop(self):
        code = self.daemon.stop()
        if code not in (0, -signal.SIGTERM):
            log("intactd exited with code %s, stderr in %s"
                % (code, self.daemon.stderr_path))
        return code

    def run_one(self, function):
        """Run a test and return None on success or the failure message."""
        if not self.daemon.running() or self.daemon.args != self.base_args:
            try:
                self.daemon_restart()
            except HarnessError as e:
                return "harness error: %s" % e
        context = TestContext(self, function.__name__)
        invalid_before = len(self.daemon.stream.invalid_lines)
        try:
            stream = self.daemon.stream
            function(context)
            if self.daemon.stream is not stream:
                invalid_before = 0
            self.daemon.stream.poll()
            invalid = self.daemon.stream.invalid_lines[invalid_before:]
            if invalid:
                raise TestFailure("intactd printed lines that are not JSON:\n"
                                  + "\n".join("  %r: %s" % (line, error)
                                              for _, line, error in invalid))
            return None
        except TestFailure as e:
            return str(e)
        except HarnessError as e:
            return "harness error: %s" % e
        except Exception:
            return "test error:\n" + traceback.format_exc()
        finally:
            for name in context.containers:
                container_remove(name)

    def run(self, tests, selected=None):
        passed = failed = 0
        try:
            self.daemon_restart()
        except HarnessError as e:
            log(str(e))
            log("no test ran because intactd did not start")
            return 0, len(tests)
        try:
            for function in tests:
                if selected and function.__name__ not in selected:
                    continue
                started = time.monotonic()
                failure = self.run_one(function)
                elapsed = time.monotonic() - started
                if failure is None:
                    passed += 1
                    print("PASS %s (%.1f s)" % (function.__name__, elapsed),
                          flush=True)
                else:
                    failed += 1
                    print("FAIL %s (%.1f s): %s" % (function.__name__, elapsed,
                                                    failure), flush=True)
        finally:
            for name in self.all_containers:
                container_remove(name)
            if self.daemon is not None:
                self.daemon_stop()
        return passed, failed


def _terminate(signum, frame):
    # Turn SIGTERM into an exception so that the finally blocks stop intactd
    # and remove the containers.
    raise KeyboardInterrupt("signal %d" % signum)


def run_files_remove_stale():
    """Remove the daemon output files of earlier runs that have ended."""
    for entry in os.listdir(RUN_DIR):
        match = re.match(r"intactd-(\d+)-\d+\.std(out|err)$", entry)
        if match and not os.path.exists("/proc/" + match.group(1)):
            os.unlink(os.path.join(RUN_DIR, entry))


def main(argv):
    """Run the registered tests, or only those named in argv."""
    from image import ImageError, image_ensure

    require_root()
    signal.signal(signal.SIGTERM, _terminate)
    os.makedirs(RUN_DIR, exist_ok=True)
    run_files_remove_stale()

    binary = os.environ.get("INTACTD", os.path.join(BUILD_DIR, "intactd"))
    base_args = shlex.split(os.environ.get("INTACTD_ARGS", ""))
    # A socket of this run's own, so that an intactd already serving the
    # default socket (a developer's, another run's) does not stop the tests.
    if "--socket" not in base_args and "--no-socket" not in base_args:
        # Under /tmp: a Unix socket path must stay within 107 bytes.
        base_args += ["--socket", "/tmp/intact-events-%d.sock" % os.getpid()]
    selected = set(argv)
    unknown = selected - {t.__name__ for t in TESTS}
    if unknown:
        log("unknown test names: %s" % ", ".join(sorted(unknown)))
        return 0, len(unknown)
    count = len(selected) if selected else len(TESTS)

    try:
        containerd_up()
        containers_remove_leftovers()
        image_ensure(BUILD_DIR, PROBE_PATH, log)
    except (HarnessError, ImageError, subprocess.SubprocessError) as e:
        log("setup failed: %s" % e)
        log("no test ran")
        return 0, count

    return Runner(binary, base_args).run(TESTS, selected)
