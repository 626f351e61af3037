"""End-to-end tests of intactd's event stream on a Unix socket and over TLS.

Each test restarts intactd with a socket in a new temporary directory, so it
never touches the default /run/intact/events.sock. A frame on the stream is
a protobuf varint with the length of the message, then an intact.v1.Event.
The readers here decode the few fields they need with WireReader, except
the consumer of stream_protobuf_consumer_matches, which uses Google's
protobuf runtime (Debian's python3-protobuf) and modules that protoc
generates from proto/ at test time.

intactd watches every container on the host, so a stream may also carry
events of containers that other programs run. The checks look at the
events of the test's own containers, or at sequence numbers.
"""

import json
import os
import random
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import time

from harness import (EVENT_TIMEOUT, REPO_ROOT, BUILD_DIR, TestFailure, field,
                     format_event, test)
from test_file import run_container

INTACTCTL = os.path.join(BUILD_DIR, "intactctl")
# Debian's python3-protobuf is installed for the system interpreter, which
# need not be the one that runs the tests.
PROTOBUF_PYTHON = "/usr/bin/python3"
PROTO_DIR = os.path.join(REPO_ROOT, "proto")
READ_TIMEOUT = 10.0
# STREAM_QUEUE_FRAMES_DEFAULT in src/stream.h: a subscriber's queue contains
# at most this many events, and intactd has no option to change it.
QUEUE_FRAMES = 4096
BURST_OPENS = 3 * QUEUE_FRAMES


def varint_encode(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def varint_decode(data, offset):
    """Return (value, next offset), or (None, offset) when data ends first."""
    value = shift = 0
    while offset < len(data):
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")
    return None, offset


def wire_fields(message):
    """Yield (field number, wire type, value) for each field of a message.

    Length-delimited values are bytes and varints are ints, which is all that
    the Event fields read here need.
    """
    offset = 0
    while offset < len(message):
        key, offset = varint_decode(message, offset)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, offset = varint_decode(message, offset)
        elif wire_type == 2:
            length, offset = varint_decode(message, offset)
            value = message[offset:offset + length]
            offset += length
        elif wire_type == 1:
            value = message[offset:offset + 8]
            offset += 8
        elif wire_type == 5:
            value = message[offset:offset + 4]
            offset += 4
        else:
            raise ValueError("unknown wire type %d" % wire_type)
        yield number, wire_type, value


def event_summary(message):
    """Decode seq, event, rules, container.id and lost from an Event."""
    summary = {"seq": 0, "event": "", "rules": [], "container": "",
               "lost": None}
    for number, _, value in wire_fields(message):
        if number == 1:
            summary["seq"] = value
        elif number == 2:
            summary["event"] = value.decode()
        elif number == 6:
            summary["rules"].append(value.decode())
        elif number == 7:
            for sub_number, _, sub_value in wire_fields(value):
                if sub_number == 1:
                    summary["container"] = sub_value.decode()
        elif number == 23:
            lost = {"source": "", "count": 0, "total": 0}
            for sub_number, _, sub_value in wire_fields(value):
                key = {1: "source", 2: "count", 3: "total"}.get(sub_number)
                if key == "source":
                    lost[key] = sub_value.decode()
                elif key:
                    lost[key] = sub_value
            summary["lost"] = lost
    return summary


def subscribe_request(rules_only=False, container_id="", pod_namespace=""):
    """Encode a framed intact.v1.SubscribeRequest."""
    message = b""
    if rules_only:
        message += b"\x08\x01"
    for tag, text in ((0x12, container_id), (0x1A, pod_namespace)):
        if text:
            data = text.encode()
            message += bytes([tag]) + varint_encode(len(data)) + data
    return varint_encode(len(message)) + message


class WireReader:
    """Reads frames from a connected socket and decodes their summaries."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""
        self.events = []
        self.closed = False

    def read_some(self, timeout):
        """Read what arrives within timeout; return False at end of stream."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return True
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        if not data:
            self.closed = True
            return False
        self.buffer += data
        while True:
            length, offset = varint_decode(self.buffer, 0)
            if length is None or len(self.buffer) < offset + length:
                return True
            message = self.buffer[offset:offset + length]
            self.buffer = self.buffer[offset + length:]
            self.events.append(event_summary(message))

    def read_until(self, predicate, description, timeout=READ_TIMEOUT):
        """Read until an event matches, and fail after the timeout."""
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            for event in self.events[checked:]:
                if predicate(event):
                    return event
            checked = len(self.events)
            if self.closed:
                raise TestFailure("the stream ended before %s; %d events "
                                  "read" % (description, len(self.events)))
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("no %s on the stream within %.0f s; %d "
                                  "events read" % (description, timeout,
                                                   len(self.events)))
            self.read_some(min(left, 0.5))


class ReaderThread(threading.Thread):
    """Keeps reading a WireReader until stopped or the stream ends."""

    def __init__(self, reader):
        super().__init__(daemon=True)
        self.reader = reader
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set() and self.reader.read_some(0.2):
            pass

    def stop(self):
        self.stopping.set()
        self.join(READ_TIMEOUT)


def unix_connect(path, receive_buffer=None):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(path)
    return sock


def stream_daemon_start(t, extra_args=()):
    """Restart intactd with a socket in a new temporary directory."""
    directory = tempfile.mkdtemp(prefix="intact-stream-")
    path = os.path.join(directory, "events.sock")
    t.restart_daemon(["--socket", path] + list(extra_args))
    return path


def intactctl_start(socket_path, *options):
    """Start intactctl events --json in the background, output in files."""
    output = tempfile.TemporaryFile()
    errors = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [INTACTCTL, "events", "--socket", socket_path, "--json"]
        + list(options), stdin=subprocess.DEVNULL, stdout=output,
        stderr=errors)
    return process, output, errors


def intactctl_finish(process, output, errors):
    """Wait for intactctl to exit; return (code, events, stderr text)."""
    try:
        code = process.wait(READ_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise TestFailure("intactctl events did not exit within %.0f s "
                          "after intactd stopped" % READ_TIMEOUT)
    output.seek(0)
    errors.seek(0)
    lines = output.read().decode("utf-8", "replace").splitlines()
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            raise TestFailure("intactctl printed a line that is not JSON: %r"
                              % line)
    return code, events, errors.read().decode("utf-8", "replace")


def wait_subscribers(t, count, marker=") connected"):
    """Wait until intactd's stderr has count lines with marker.

    ") connected" counts accepted connections and ") subscribed:" applied
    SubscribeRequests, after which the subscriber's filter is in force.
    """
    deadline = time.monotonic() + EVENT_TIMEOUT
    while True:
        found = t.daemon.stderr_text().count(marker)
        if found >= count:
            return
        if time.monotonic() >= deadline:
            raise TestFailure("intactd logged %d of %d %r lines. stderr:\n%s"
                              % (found, count, marker,
                                 t.daemon.stderr_text()))
        time.sleep(0.05)


def wait_event_count(t, name, count, timeout):
    """Wait until container name has at least count events on stdout."""
    deadline = time.monotonic() + timeout
    while len(t.events(name)) < count:
        if time.monotonic() >= deadline:
            raise TestFailure("%d of %d events of container %s within %.0f s"
                              % (len(t.events(name)), count, name, timeout))
        if not t.daemon.running():
            raise TestFailure("intactd exited. stderr:\n"
                              + t.daemon.stderr_text())
        time.sleep(0.1)


def stop_daemon_cleanly(t):
    code = t.daemon.stop()
    if code != 0:
        t.fail("intactd exited with code %s after SIGTERM, expected 0. "
               "stderr:\n%s" % (code, t.daemon.stderr_text()))


def key_fields(event):
    return (field(event, "seq", None), field(event, "event", None),
            field(event, "rules", None), field(event, "container.id", None),
            field(event, "process.exe", None))


PROTOBUF_CONSUMER = r'''
"""Read intactd's stream with Google's protobuf runtime until it ends."""
import json
import socket
import sys

from google.protobuf import json_format
from intact.v1 import event_pb2


def read_varint(sock):
    value = shift = 0
    while True:
        byte = sock.recv(1)
        if not byte:
            return None
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7


def read_exact(sock, length):
    data = b""
    while len(data) < length:
        chunk = sock.recv(length - len(data))
        if not chunk:
            raise EOFError("stream ended inside a frame")
        data += chunk
    return data


sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1])
print("connected", file=sys.stderr, flush=True)
while True:
    length = read_varint(sock)
    if length is None:
        break
    event = event_pb2.Event()
    event.ParseFromString(read_exact(sock, length))
    print(json.dumps(json_format.MessageToDict(
        event, preserving_proto_field_name=True,
        including_default_value_fields=True)), flush=True)
'''


def protobuf_modules_generate(directory):
    """Generate Python modules from proto/ into directory with protoc."""
    result = subprocess.run(
        ["protoc", "-I", PROTO_DIR, "-I", "/usr/include",
         "--python_out=" + directory, "intact/v1/event.proto",
         "intact/v1/subscribe.proto"], capture_output=True, text=True)
    if result.returncode != 0:
        raise TestFailure("protoc failed with exit code %d: %s"
                          % (result.returncode, result.stderr))
    for package in ("intact", "intact/v1"):
        open(os.path.join(directory, package, "__init__.py"), "a").close()


@test
def stream_protobuf_consumer_matches(t):
    socket_path = stream_daemon_start(t)
    work = tempfile.mkdtemp(prefix="intact-protobuf-")
    protobuf_modules_generate(work)
    consumer_path = os.path.join(work, "consumer.py")
    with open(consumer_path, "w") as f:
        f.write(PROTOBUF_CONSUMER)

    consumer_output = tempfile.TemporaryFile()
    consumer_errors = tempfile.TemporaryFile()
    consumer = subprocess.Popen(
        [PROTOBUF_PYTHON, consumer_path, socket_path],
        stdin=subprocess.DEVNULL, stdout=consumer_output,
        stderr=consumer_errors, env=dict(os.environ, PYTHONPATH=work))
    ctl = intactctl_start(socket_path)
    try:
        wait_subscribers(t, 2)
        name = t.run(["sh", "-c", "echo x > /etc/motd; true"], hint="pb")
        t.wait_event(lambda e: e.get("event") == "file",
                     "file event of /etc/motd", container=name)
        # Let both subscribers take the events before intactd stops.
        time.sleep(0.5)
        stop_daemon_cleanly(t)
        ctl_code, ctl_events, ctl_errors = intactctl_finish(*ctl)
        consumer.wait(READ_TIMEOUT)
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
    consumer_output.seek(0)
    consumer_errors.seek(0)
    if consumer.returncode != 0:
        t.fail("the protobuf consumer exited with %d: %s"
               % (consumer.returncode,
                  consumer_errors.read().decode("utf-8", "replace")))
    pb_events = [json.loads(line) for line in
                 consumer_output.read().decode().splitlines()]
    if ctl_code != 0:
        t.fail("intactctl events exited with %d: %s" % (ctl_code, ctl_errors))

    expected = t.events(name)
    if len(expected) < 2:
        t.fail("expected an exec and a file event on stdout, got:\n"
               + t.describe_events(name))
    for reader, events in (("protobuf consumer", pb_events),
                           ("intactctl events --json", ctl_events)):
        by_seq = {field(e, "seq", None): e for e in events}
        for event in expected:
            got = by_seq.get(event["seq"])
            if got is None:
                t.fail("%s did not receive seq %s" % (reader, event["seq"]),
                       event)
            if key_fields(got) != key_fields(event):
                t.fail("%s: seq %s differs from stdout: %r, expected %r"
                       % (reader, event["seq"], key_fields(got),
                          key_fields(event)), event)
        last = events[-1] if events else {}
        if field(last, "event", None) != "status" or \
                field(last, "status.state", None) != "stopping":
            t.fail("%s: expected a last 'status' event with state "
                   "'stopping', got %s" % (reader, format_event(last)))

    # The JSON of intactctl and of intactd's stdout come from the same
    # schema and printer options, so they are identical.
    ctl_by_seq = {e["seq"]: e for e in ctl_events}
    for event in expected:
        if ctl_by_seq[event["seq"]] != event:
            t.fail("intactctl events --json printed seq %s differently from "
                   "stdout:\n  intactctl: %s"
                   % (event["seq"], format_event(ctl_by_seq[event["seq"]])),
                   event)


@test
def stream_stalled_subscriber_lost(t):
    socket_path = stream_daemon_start(t, ["--ringbuf-size", "67108864"])
    # A small receive buffer makes the kernel hold few events for the
    # stalled subscriber, so intactd's queue for it fills.
    stalled = unix_connect(socket_path, receive_buffer=4096)
    reader = WireReader(unix_connect(socket_path))
    thread = ReaderThread(reader)
    thread.start()
    stalled_reader = WireReader(stalled)
    try:
        wait_subscribers(t, 2)
        name = t.run(["probe", "repeat-open", "/etc/burst",
                      str(BURST_OPENS)], hint="burst")
        # The exec event and one file event per open.
        wait_event_count(t, name, BURST_OPENS + 1, timeout=60)
        last_seq = int(t.events(name)[-1]["seq"])
        deadline = time.monotonic() + READ_TIMEOUT
        while not any(e["seq"] >= last_seq for e in reader.events):
            if time.monotonic() > deadline:
                t.fail("the reading subscriber did not receive seq %d "
                       "within %.0f s. Its last seq is %s"
                       % (last_seq, READ_TIMEOUT,
                          reader.events[-1]["seq"] if reader.events
                          else None))
            time.sleep(0.1)

        lost = stalled_reader.read_until(
            lambda e: e["event"] == "lost", "'lost' event for the stalled "
            "subscriber", timeout=30)
        # An event after the notice marks where the loss ended.
        after_name = t.run(["echo", "after-loss"], hint="after")
        after = stalled_reader.read_until(
            lambda e: e["container"] == after_name,
            "event of container %s after the 'lost' event" % after_name)
    finally:
        thread.stop()
        stalled.close()
        reader.sock.close()

    # The reading subscriber got every event that stdout has, in order.
    stdout_seqs = [int(e["seq"]) for e in t.events()]
    first = reader.events[0]["seq"]
    expected = [s for s in stdout_seqs if first <= s <= last_seq]
    got = [e["seq"] for e in reader.events if e["seq"] <= last_seq]
    if got != expected:
        missing = sorted(set(expected) - set(got))
        t.fail("the reading subscriber's seqs differ from stdout's in "
               "%d..%d: %d received, %d expected, missing %s"
               % (first, last_seq, len(got), len(expected), missing[:20]))

    if lost["lost"]["source"] != "subscriber_queue":
        t.fail("lost.source: expected 'subscriber_queue', got %r"
               % lost["lost"]["source"])
    if lost["lost"]["count"] <= 0:
        t.fail("lost.count: expected a positive count, got %r"
               % lost["lost"]["count"])
    if lost["lost"]["total"] < lost["lost"]["count"]:
        t.fail("lost.total %d is less than lost.count %d"
               % (lost["lost"]["total"], lost["lost"]["count"]))

    # The notice counts the events between the last one queued before it
    # and the first one after it.
    position = next(i for i, e in enumerate(stalled_reader.events)
                    if e is lost)
    last_before = stalled_reader.events[position - 1]["seq"]
    first_after = stalled_reader.events[position + 1]["seq"]
    stdout_seqs = [int(e["seq"]) for e in t.events()]
    skipped = [s for s in stdout_seqs if last_before < s < first_after]
    if len(skipped) != lost["lost"]["count"]:
        t.fail("the stalled subscriber skipped %d events between seqs %d "
               "and %d, but its 'lost' event counts %d"
               % (len(skipped), last_before, first_after,
                  lost["lost"]["count"]))
    if after["seq"] < first_after:
        t.fail("seq %d of container %s came before the first event after "
               "the 'lost' event" % (after["seq"], after_name))


@test
def stream_garbage_subscriber_dropped(t):
    socket_path = stream_daemon_start(t)
    # reason is a part of intactd's log line, and None accepts any reason.
    cases = [
        ("random bytes", random.randbytes(256), None),
        ("a malformed frame length", b"\x80" * 11, "malformed frame length"),
        ("an oversized frame", varint_encode(1 << 20) + b"\x00" * 64,
         "longer than the SubscribeRequest limit"),
        ("a frame that is not a SubscribeRequest",
         varint_encode(4) + b"\xff\xff\xff\xff",
         "not a valid SubscribeRequest"),
    ]
    good = WireReader(unix_connect(socket_path))
    wait_subscribers(t, 1)
    for description, data, reason in cases:
        before = len(t.daemon.stderr_text())
        sock = unix_connect(socket_path)
        sock.sendall(data)
        reader = WireReader(sock)
        deadline = time.monotonic() + READ_TIMEOUT
        while reader.read_some(0.5):
            if time.monotonic() > deadline:
                t.fail("intactd did not close a subscriber that sent %s"
                       % description)
        sock.close()
        log = t.daemon.stderr_text()[before:]
        if "dropping subscriber" not in log or (reason and reason not in log):
            t.fail("intactd logged no 'dropping subscriber ...: ...%s' "
                   "for %s. stderr since the connection:\n%s"
                   % (reason, description, log))

    # The well-behaved subscriber is still served.
    name = t.run(["echo", "after-garbage"], hint="garbage")
    good.read_until(lambda e: e["container"] == name,
                    "event of container %s" % name)
    good.sock.close()
    if not t.daemon.running():
        t.fail("intactd exited after the bad subscribers")


@test
def stream_seq_without_gaps(t):
    socket_path = stream_daemon_start(t)
    reader = WireReader(unix_connect(socket_path))
    wait_subscribers(t, 1)
    name = t.run(["probe", "repeat-open", "/etc/seq", "2000"], hint="seq")
    wait_event_count(t, name, 2001, timeout=30)
    last_seq = int(t.events(name)[-1]["seq"])
    reader.read_until(lambda e: e["seq"] >= last_seq,
                      "event with seq %d" % last_seq, timeout=30)
    reader.sock.close()

    stdout_seqs = [int(e["seq"]) for e in t.events()]
    if stdout_seqs != list(range(1, len(stdout_seqs) + 1)):
        gaps = [(a, b) for a, b in zip(stdout_seqs, stdout_seqs[1:])
                if b != a + 1]
        t.fail("stdout seqs are not 1, 2, 3, ...: first gaps %s"
               % gaps[:10])
    stream_seqs = [e["seq"] for e in reader.events if e["seq"] <= last_seq]
    if stream_seqs != stdout_seqs[stdout_seqs.index(stream_seqs[0]):
                                  stdout_seqs.index(last_seq) + 1]:
        t.fail("the stream's seqs differ from stdout's up to %d" % last_seq)
    for event in t.events(name):
        if event.get("event") == "lost":
            t.fail("events lost during the burst", event)


@test
def intactctl_exit_codes(t):
    socket_path = stream_daemon_start(t)
    ctl = intactctl_start(socket_path)
    wait_subscribers(t, 1)
    stop_daemon_cleanly(t)
    code, events, errors = intactctl_finish(*ctl)
    if code != 0:
        t.fail("intactctl events exited with %d after intactd stopped "
               "cleanly, expected 0. stderr: %s" % (code, errors))

    missing = os.path.join(tempfile.mkdtemp(prefix="intact-none-"),
                           "missing.sock")
    result = subprocess.run([INTACTCTL, "events", "--socket", missing],
                            capture_output=True, text=True, timeout=10)
    if result.returncode == 0:
        t.fail("intactctl events exited with 0 for the missing socket %s"
               % missing)
    if missing not in result.stderr or "not found" not in result.stderr:
        t.fail("intactctl's message for a missing socket names neither %s "
               "nor the cause: %r" % (missing, result.stderr))


@test
def intactctl_filters(t):
    socket_path = stream_daemon_start(t)
    all_events = intactctl_start(socket_path)
    rules_only = intactctl_start(socket_path, "--rules-only")
    shell_name = t.container_name("filter-shell")
    # A prefix of the id selects the container too.
    by_container = intactctl_start(socket_path, "--container",
                                   shell_name[:-3])
    wait_subscribers(t, 3)
    wait_subscribers(t, 2, marker=") subscribed:")

    plain = t.run(["echo", "plain"], hint="filter-plain")
    run_container(t, "true", None, name=shell_name)
    t.exec_event(plain, ["echo", "plain"])
    t.wait_event(lambda e: field(e, "container.id", None) == shell_name,
                 "exec event of the shell", container=shell_name)
    time.sleep(0.5)
    stop_daemon_cleanly(t)
    outputs = {label: intactctl_finish(*ctl) for label, ctl in (
        ("all", all_events), ("rules-only", rules_only),
        ("container", by_container))}

    for label, (code, events, errors) in outputs.items():
        if code != 0:
            t.fail("intactctl events (%s) exited with %d: %s"
                   % (label, code, errors))

    def ids(events):
        return {field(e, "container.id", None) for e in events
                if e.get("event") not in ("status", "lost")}

    _, events, _ = outputs["all"]
    if not {plain, shell_name} <= ids(events):
        t.fail("the unfiltered subscriber lacks events of %s and %s"
               % (plain, shell_name))
    _, events, _ = outputs["rules-only"]
    for event in events:
        if event.get("event") not in ("status", "lost") and \
                not event.get("rules"):
            t.fail("--rules-only printed an event without rules", event)
    if shell_name not in ids(events):
        t.fail("--rules-only lacks the shell_in_container event of %s"
               % shell_name)
    _, events, _ = outputs["container"]
    if ids(events) != {shell_name}:
        t.fail("--container %s printed events of containers %r"
               % (shell_name[:-3], sorted(ids(events))))


def openssl(*args, cwd):
    result = subprocess.run(["openssl"] + list(args), cwd=cwd,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise TestFailure("openssl %s failed: %s"
                          % (" ".join(args), result.stderr))


def certificate_make(directory, name, ca, extensions):
    """Make name.key and name.crt signed by ca (a name), or self-signed."""
    key, crt = name + ".key", name + ".crt"
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", key, cwd=directory)
    if ca is None:
        openssl("req", "-x509", "-new", "-key", key, "-subj", "/CN=" + name,
                "-days", "2", "-out", crt, "-addext",
                "basicConstraints=critical,CA:TRUE", "-addext",
                "keyUsage=critical,keyCertSign", cwd=directory)
        return
    openssl("req", "-new", "-key", key, "-subj", "/CN=" + name, "-out",
            name + ".csr", cwd=directory)
    with open(os.path.join(directory, name + ".ext"), "w") as f:
        f.write(extensions)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
            "-CAkey", ca + ".key", "-CAcreateserial", "-days", "2",
            "-extfile", name + ".ext", "-out", crt, cwd=directory)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tls_connect(directory, port, certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(os.path.join(directory, "ca.crt"))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    if certificate:
        context.load_cert_chain(os.path.join(directory, certificate + ".crt"),
                                os.path.join(directory, certificate + ".key"))
    raw = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


@test
def stream_tls_client_certificates(t):
    directory = tempfile.mkdtemp(prefix="intact-tls-")
    certificate_make(directory, "ca", None, "")
    certificate_make(directory, "other-ca", None, "")
    certificate_make(directory, "server", "ca",
                     "subjectAltName=IP:127.0.0.1\n"
                     "extendedKeyUsage=serverAuth\n")
    certificate_make(directory, "client", "ca",
                     "extendedKeyUsage=clientAuth\n")
    certificate_make(directory, "stranger", "other-ca",
                     "extendedKeyUsage=clientAuth\n")
    port = free_port()
    stream_daemon_start(t, [
        "--tls-listen", "127.0.0.1:%d" % port,
        "--tls-cert", os.path.join(directory, "server.crt"),
        "--tls-key", os.path.join(directory, "server.key"),
        "--tls-ca", os.path.join(directory, "ca.crt")])

    # In TLS 1.3 the server checks the client's certificate after the
    # client's handshake is done, so the rejection shows on the first read.
    for certificate in (None, "stranger"):
        description = ("a client without a certificate" if certificate is None
                       else "a client with a certificate of another CA")
        try:
            sock = tls_connect(directory, port, certificate)
            reader = WireReader(sock)
            deadline = time.monotonic() + READ_TIMEOUT
            while reader.read_some(0.5) and time.monotonic() < deadline:
                pass
            sock.close()
            if not reader.closed or reader.events:
                t.fail("%s was served: %d events read"
                       % (description, len(reader.events)))
        except (ssl.SSLError, ConnectionError):
            pass
    if "TLS handshake with 127.0.0.1" not in t.daemon.stderr_text():
        t.fail("intactd logged no failed TLS handshake. stderr:\n%s"
               % t.daemon.stderr_text())

    sock = tls_connect(directory, port, "client")
    if sock.version() != "TLSv1.3":
        t.fail("TLS version: expected TLSv1.3, got %s" % sock.version())
    reader = WireReader(sock)
    reader.read_some(0.5)
    name = t.run(["echo", "over-tls"], hint="tls")
    event = reader.read_until(lambda e: e["container"] == name,
                              "event of container %s over TLS" % name)
    sock.close()
    t.check_field(event, "event", "exec")


@test
def stream_socket_mode(t):
    socket_path = stream_daemon_start(t)
    st = os.stat(socket_path)
    if not stat.S_ISSOCK(st.st_mode):
        t.fail("%s is not a socket" % socket_path)
    if stat.S_IMODE(st.st_mode) != 0o660:
        t.fail("%s has mode %04o, expected 0660"
               % (socket_path, stat.S_IMODE(st.st_mode)))
