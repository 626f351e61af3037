"""End-to-end tests of exec events: real containers, the decoded JSON stream.

Every container runs the image built by image.py: busybox at /bin/busybox
with applet symlinks in /bin, the probe helper and hello.sh in
/usr/local/bin. In containerd's default container spec, /tmp is part of the
overlay root (so files written there land on the upper layer) and /run is a
writable tmpfs mounted without noexec.
"""

import base64
import os
import subprocess
import time
import uuid

from harness import MISSING, field, test

# The proto3 JSON form of a Timestamp: UTC, with 0, 3, 6 or 9 fractional
# digits, as few as keep the value exact.
TIME_PATTERN = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.(\d{3}|\d{6}|\d{9}))?Z"
BUSYBOX = "/bin/busybox"
PROBE = "/usr/local/bin/probe"


def check_container_exec(t, event, container, exe_truncated=False, uid=0,
                         gid=0, euid=0):
    """Check the fields that every exec event from a test container has."""
    t.check_field(event, "event", "exec")
    t.check_field_matches(event, "time", TIME_PATTERN)
    t.check_field(event, "node", os.uname().nodename)
    t.check_field(event, "container.id", container)
    t.check_field(event, "container.runtime", "containerd")
    t.check_field(event, "container.namespace", "k8s.io")
    t.check_field(event, "container.cgroup", "/k8s.io/" + container)
    # Whether unknown names are left out rather than empty is checked once,
    # by unknown_fields_omitted.
    t.check_field_in(event, "container.image",
                     [MISSING, "", "intact-test:latest"])

    t.check_positive_int(event, "process.pid")
    t.check_positive_int(event, "process.ns_pid")
    t.check_positive_int(event, "process.ppid")
    t.check_field(event, "process.uid", uid)
    t.check_field(event, "process.gid", gid)
    t.check_field(event, "process.euid", euid)
    t.check_field(event, "process.exe_truncated", exe_truncated)
    t.check_field(event, "process.argc", len(field(event, "process.args", [])))
    t.check_field(event, "process.args_truncated", False)
    t.check_field_matches(event, "process.exec_id", r".+")
    t.check_field(event, "process.parent.pid", field(event, "process.ppid"))


def check_plain_file(t, event):
    """Check that the executed file is an unchanged file of the image."""
    t.check_field(event, "process.exe_upper_layer", False)
    t.check_field(event, "process.exe_writable_mount", False)
    t.check_field(event, "process.exe_fileless", False)
    t.check_no_rule(event, "drift_exec")
    t.check_no_rule(event, "fileless_exec")


@test
def shell_nested_in_container(t):
    # The trailing "true" keeps the outer shell from replacing itself with
    # the inner one, so the inner shell is a child with a known parent.
    outer_args = ["sh", "-c", "sh -c true; true"]
    name = t.run(outer_args, hint="shell")

    outer = t.exec_event(name, outer_args)
    check_container_exec(t, outer, name)
    check_plain_file(t, outer)
    t.check_rule(outer, "shell_in_container")
    t.check_field(outer, "process.exe", BUSYBOX)
    t.check_field(outer, "process.filename", "/bin/sh")
    t.check_field(outer, "process.comm", "sh")
    t.check_field(outer, "process.ns_pid", 1)
    t.check_field(outer, "process.cwd", "/")
    t.check_field_in(outer, "process.script", [MISSING, ""])

    # Debian's busybox-static is built with FEATURE_SH_STANDALONE, so its
    # shell runs applets by executing /proc/self/exe.
    inner = t.exec_event(name, ["sh", "-c", "true"])
    check_container_exec(t, inner, name)
    check_plain_file(t, inner)
    t.check_rule(inner, "shell_in_container")
    t.check_field(inner, "process.exe", BUSYBOX)
    t.check_field(inner, "process.filename", "/proc/self/exe")
    t.check_field(inner, "process.argc", 3)
    t.check_field(inner, "process.ppid", outer["process"]["pid"])
    t.check_field(inner, "process.parent.exe", BUSYBOX)
    t.check_field(inner, "process.parent.args", outer_args)
    t.check_field(inner, "process.parent.exec_id",
                  outer["process"]["exec_id"])
    if inner["process"]["exec_id"] == outer["process"]["exec_id"]:
        t.fail("process.exec_id: the inner shell reuses the outer one's",
               inner)


@test
def shell_as_busybox_applet(t):
    name = t.run(["busybox", "sh", "-c", "true"], hint="applet")

    event = t.exec_event(name, ["busybox", "sh", "-c", "true"])
    check_container_exec(t, event, name)
    check_plain_file(t, event)
    t.check_rule(event, "shell_in_container")
    t.check_field(event, "process.exe", BUSYBOX)
    t.check_field(event, "process.filename", "/bin/busybox")


@test
def shell_through_foreign_symlink(t):
    # busybox picks the applet from the base name of argv[0], so a symlink
    # named "ash" anywhere starts a shell although the path is not /bin.
    args = ["/tmp/x/ash", "-c", "true"]
    name = t.run(["sh", "-c", "mkdir -p /tmp/x && ln -s /bin/busybox "
                  "/tmp/x/ash && exec /tmp/x/ash -c true"], hint="symlink")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    check_plain_file(t, event)
    t.check_rule(event, "shell_in_container")
    t.check_field(event, "process.exe", BUSYBOX)
    t.check_field(event, "process.filename", "/tmp/x/ash")
    t.check_field(event, "process.comm", "ash")


@test
def non_shell_applet_not_shell(t):
    args = ["busybox", "echo", "not-a-shell"]
    name = t.run(args, hint="echo")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    check_plain_file(t, event)
    t.check_no_rule(event, "shell_in_container")
    t.check_field(event, "process.exe", BUSYBOX)
    t.check_field(event, "rules", [])


@test
def drift_copy_in_tmp(t):
    args = ["echo", "drift-tmp"]
    name = t.run(["sh", "-c", "cp /bin/busybox /tmp/dropped && "
                  "probe exec /tmp/dropped echo drift-tmp"], hint="drift-tmp")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    t.check_rule(event, "drift_exec")
    t.check_field(event, "process.exe", "/tmp/dropped")
    t.check_field(event, "process.filename", "/tmp/dropped")
    t.check_field(event, "process.exe_upper_layer", True)
    t.check_field(event, "process.exe_writable_mount", False)
    t.check_field(event, "process.exe_fileless", False)


@test
def drift_copy_in_image_dir(t):
    args = ["echo", "drift-usr"]
    name = t.run(["sh", "-c", "cp /bin/busybox /usr/local/bin/dropped && "
                  "probe exec /usr/local/bin/dropped echo drift-usr"],
                 hint="drift-usr")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    t.check_rule(event, "drift_exec")
    t.check_field(event, "process.exe", "/usr/local/bin/dropped")
    t.check_field(event, "process.exe_upper_layer", True)
    t.check_field(event, "process.exe_writable_mount", False)


@test
def drift_copy_on_tmpfs(t):
    args = ["echo", "drift-run"]
    name = t.run(["sh", "-c", "cp /bin/busybox /run/dropped && "
                  "probe exec /run/dropped echo drift-run"], hint="drift-run")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    t.check_rule(event, "drift_exec")
    t.check_field(event, "process.exe", "/run/dropped")
    t.check_field(event, "process.exe_upper_layer", False)
    t.check_field(event, "process.exe_writable_mount", True)
    t.check_field(event, "process.exe_fileless", False)


@test
def fileless_memfd_exec(t):
    args = ["true", "from-memfd"]
    name = t.run(["probe", "memfd-exec", BUSYBOX] + args, hint="memfd")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    t.check_rule(event, "fileless_exec")
    t.check_field(event, "process.exe_fileless", True)
    t.check_field(event, "process.exe_upper_layer", False)
    t.check_field_matches(event, "process.exe", r"/?memfd:probe-memfd.*")


@test
def fileless_deleted_file_exec(t):
    args = ["echo", "from-deleted"]
    name = t.run(["probe", "deleted-exec", BUSYBOX, "/tmp/gone"] + args,
                 hint="deleted")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    t.check_rule(event, "fileless_exec")
    t.check_field(event, "process.exe_fileless", True)
    t.check_field_matches(event, "process.exe", r"/tmp/gone( \(deleted\))?")


@test
def execveat_empty_path(t):
    args = ["echo", "via-fd"]
    name = t.run(["probe", "execveat", BUSYBOX] + args, hint="execveat")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    check_plain_file(t, event)
    t.check_field(event, "process.exe", BUSYBOX)
    # The kernel names an AT_EMPTY_PATH exec "/dev/fd/N"; the empty string
    # is what the caller passed.
    t.check_field_matches(event, "process.filename", r"(/dev/fd/\d+)?")


@test
def execveat_dirfd_relative(t):
    args = ["echo", "via-dirfd"]
    name = t.run(["probe", "execveat-dirfd", "/bin", "busybox"] + args,
                 hint="dirfd")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    check_plain_file(t, event)
    t.check_field(event, "process.exe", BUSYBOX)
    t.check_field_matches(event, "process.filename",
                          r"(/dev/fd/\d+/)?busybox")


@test
def script_with_shebang(t):
    name = t.run(["/usr/local/bin/hello.sh"], hint="script")

    event = t.wait_event(
        lambda e: field(e, "process.filename", None)
        == "/usr/local/bin/hello.sh",
        "exec event of /usr/local/bin/hello.sh", container=name)
    check_container_exec(t, event, name)
    check_plain_file(t, event)
    t.check_field(event, "process.script", "/usr/local/bin/hello.sh")
    t.check_field(event, "process.interpreter", "/bin/sh")
    t.check_field(event, "process.exe", BUSYBOX)
    # Either the argv the caller passed or the one the kernel built for the
    # interpreter.
    t.check_field_in(event, "process.args",
                     [["/usr/local/bin/hello.sh"],
                      ["/bin/sh", "/usr/local/bin/hello.sh"]])


def deep_path(base, length, count, name):
    return base + ("/" + "d" * length) * count + "/" + name


@test
def long_path_truncated(t):
    # 17 levels of 250 bytes make a path of 4281 bytes, beyond PATH_MAX.
    args = ["echo", "deep"]
    full_path = deep_path("/tmp/deep", 250, 17, "prog")
    name = t.run(["probe", "deep-exec", BUSYBOX, "/tmp/deep", "250", "17",
                  "prog"] + args, hint="deep")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name, exe_truncated=True)
    t.check_field(event, "process.filename", "./prog")
    t.check_field(event, "process.cwd_truncated", True)
    t.check_field(event, "process.exe_upper_layer", True)
    exe = field(event, "process.exe")
    if not isinstance(exe, str):
        t.fail("process.exe: expected a string, got %r" % exe, event)
    if exe == full_path:
        t.fail("process.exe: a truncated path is presented whole", event)
    if len(exe) >= len(full_path):
        t.fail("process.exe: %d bytes, expected fewer than the %d of the "
               "full path" % (len(exe), len(full_path)), event)
    # Whichever end is kept, the part shown must come from the real path.
    if exe.lstrip(".\u2026") not in full_path:
        t.fail("process.exe: not a part of the real path %s" % full_path,
               event)


@test
def moderate_path_exact(t):
    args = ["echo", "medium"]
    full_path = deep_path("/tmp/mid", 50, 6, "prog")
    name = t.run(["probe", "deep-exec", BUSYBOX, "/tmp/mid", "50", "6",
                  "prog"] + args, hint="mid")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    t.check_field(event, "process.exe", full_path)
    t.check_field(event, "process.filename", "./prog")
    t.check_field(event, "process.cwd", os.path.dirname(full_path))
    t.check_field(event, "process.cwd_truncated", False)
    t.check_field(event, "process.exe_upper_layer", True)


@test
def host_shell_with_watch_host(t):
    t.restart_daemon(["--watch-host"])
    marker = "intact-host-" + uuid.uuid4().hex[:8]
    subprocess.run(["/bin/sh", "-c", "true " + marker], check=True)

    event = t.wait_event(
        lambda e: field(e, "process.args", None)
        == ["/bin/sh", "-c", "true " + marker],
        "exec event of the host shell with marker " + marker)
    t.check_field(event, "event", "exec")
    t.check_field(event, "container.id", "")
    t.check_field(event, "process.filename", "/bin/sh")
    t.check_field(event, "process.exe", os.path.realpath("/bin/sh"))
    t.check_no_rule(event, "shell_in_container")


@test
def host_exec_ignored_by_default(t):
    marker = "intact-host-" + uuid.uuid4().hex[:8]
    subprocess.run(["/bin/sh", "-c", "true " + marker], check=True)

    # An event from a container started later shows that intactd has
    # processed everything that came before it.
    args = ["echo", "barrier"]
    name = t.run(args, hint="barrier")
    t.exec_event(name, args)

    for event in t.events():
        if marker in str(field(event, "process.args", "")):
            t.fail("host exec reported without --watch-host", event)
        if field(event, "container.id", None) == "":
            t.fail("event with an empty container.id without --watch-host",
                   event)


@test
def pod_annotations(t):
    args = ["echo", "in-pod"]
    name = t.run(args, hint="pod", annotations={
        "io.kubernetes.pod.name": "mypod",
        "io.kubernetes.pod.namespace": "myns",
        "io.kubernetes.pod.uid": "myuid",
    })

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    t.check_field(event, "container.pod.name", "mypod")
    t.check_field(event, "container.pod.namespace", "myns")
    t.check_field(event, "container.pod.uid", "myuid")


@test
def pod_annotations_from_cri(t):
    # The annotations that containerd's CRI plugin puts on the containers
    # that kubelet creates.
    args = ["echo", "in-cri-pod"]
    name = t.run(args, hint="cri", annotations={
        "io.kubernetes.cri.container-type": "container",
        "io.kubernetes.cri.sandbox-name": "cripod",
        "io.kubernetes.cri.sandbox-namespace": "crins",
        "io.kubernetes.cri.sandbox-uid": "criuid",
        "io.kubernetes.cri.container-name": "cricontainer",
    })

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    t.check_field(event, "container.pod.name", "cripod")
    t.check_field(event, "container.pod.namespace", "crins")
    t.check_field(event, "container.pod.uid", "criuid")
    t.check_field(event, "container.name", "cricontainer")


@test
def unknown_fields_empty(t):
    # ctr records no image annotation, pod or container name, and busybox
    # is no script. The JSON prints every field of the schema, so those that
    # are not known are empty, and the pod, a message, is left out.
    args = ["echo", "unknown-fields"]
    name = t.run(args, hint="empty")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    t.check_field(event, "container.image", "")
    t.check_field(event, "container.name", "")
    t.check_field_absent(event, "container.pod")
    t.check_field(event, "process.script", "")
    t.check_field(event, "process.interpreter", "")
    t.check_field(event, "process.exe_bytes", "")


@test
def no_pod_without_annotations(t):
    args = ["echo", "no-pod"]
    name = t.run(args, hint="nopod")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    t.check_field_absent(event, "container.pod")


@test
def relative_exec_absolute_exe(t):
    args = ["./busybox", "echo", "relative"]
    name = t.run(["sh", "-c", "cd /bin && ./busybox echo relative"],
                 hint="relative")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    check_plain_file(t, event)
    t.check_field(event, "process.exe", BUSYBOX)
    t.check_field(event, "process.filename", "./busybox")
    t.check_field(event, "process.cwd", "/bin")
    t.check_field(event, "process.comm", "busybox")


@test
def proc_self_exe_real_file(t):
    args = ["probe", "true"]
    name = t.run(["probe", "exec", "/proc/self/exe"] + args, hint="selfexe")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name)
    check_plain_file(t, event)
    t.check_field(event, "process.exe", PROBE)
    t.check_field(event, "process.filename", "/proc/self/exe")


@test
def exec_as_unprivileged_user(t):
    args = ["/bin/busybox", "echo", "unprivileged"]
    name = t.run(["probe", "run-as", "1234", "2345"] + args, hint="uid")

    event = t.exec_event(name, args)
    check_container_exec(t, event, name, uid=1234, gid=2345, euid=1234)
    check_plain_file(t, event)
    t.check_field(event, "process.exe", BUSYBOX)


@test
def setuid_exec_effective_uid(t):
    # Without --allow-new-privs, ctr sets no_new_privileges and the kernel
    # then ignores the set-user-ID bit.
    args = ["/tmp/s/busybox", "echo", "setuid"]
    name = t.run(["sh", "-c", "mkdir /tmp/s && cp /bin/busybox /tmp/s/ && "
                  "chmod 4755 /tmp/s/busybox && "
                  "exec probe run-as 1234 2345 /tmp/s/busybox echo setuid"],
                 hint="setuid", options=["--allow-new-privs"])

    event = t.exec_event(name, args)
    check_container_exec(t, event, name, uid=1234, gid=2345, euid=0)
    t.check_field(event, "process.exe", "/tmp/s/busybox")
    t.check_field(event, "process.exe_upper_layer", True)
    t.check_rule(event, "drift_exec")


@test
def non_utf8_args_exact(t):
    # Go's JSON encoder in ctr would replace invalid UTF-8 in the container
    # command, so the shell inside the container builds the argument.
    expected = b"\xff\x01\xc3\xa9ok"
    name = t.run(["sh", "-c", "busybox echo \"$(busybox printf "
                  "'\\377\\001\\303\\251ok')\""], hint="bytes")

    event = t.wait_event(
        lambda e: field(e, "process.args", [])[:2] == ["busybox", "echo"],
        "exec event of busybox echo", container=name)
    check_container_exec(t, event, name)
    args = field(event, "process.args")
    if len(args) != 3:
        t.fail("process.args: expected 3 arguments, got %d" % len(args),
               event)
    # Protobuf strings must be valid UTF-8: each invalid byte becomes U+FFFD,
    # and args_bytes keeps the exact bytes of every argument.
    if args[2] != "\ufffd\x01\u00e9ok":
        t.fail("process.args[2]: expected U+FFFD for the invalid byte, got %r"
               % args[2], event)
    raw = [base64.b64decode(a) for a in field(event, "process.args_bytes", [])]
    if raw != [b"busybox", b"echo", expected]:
        t.fail("process.args_bytes: expected the exact bytes %r, got %r"
               % ([b"busybox", b"echo", expected], raw), event)


@test
def many_args_argc_exact(t):
    name = t.run(["sh", "-c", "busybox echo $(busybox seq 1 1000) "
                  ">/dev/null"], hint="manyargs")

    event = t.wait_event(
        lambda e: field(e, "process.args", [])[:3] == ["busybox", "echo",
                                                       "1"],
        "exec event of busybox echo 1 ... 1000", container=name)
    t.check_field(event, "process.argc", 1002)
    args = field(event, "process.args")
    if field(event, "process.args_truncated") is True:
        if len(args) >= 1002:
            t.fail("process.args: truncated but has all %d arguments"
                   % len(args), event)
    else:
        expected = ["busybox", "echo"] + [str(i) for i in range(1, 1001)]
        if len(args) != len(expected):
            t.fail("process.args: %d arguments without args_truncated, "
                   "expected %d" % (len(args), len(expected)), event)
        for index, (actual, value) in enumerate(zip(args, expected)):
            if actual != value:
                t.fail("process.args[%d]: expected %r, got %r, and "
                       "args_truncated is false" % (index, value, actual),
                       event)
    t.check_field(event, "container.id", name)


@test
def daemon_sigterm_exits_zero(t):
    t.restart_daemon([])
    started = time.monotonic()
    code = t.daemon.stop()
    elapsed = time.monotonic() - started

    if code != 0:
        t.fail("intactd exited with code %s after SIGTERM, expected 0; "
               "stderr:\n%s" % (code, t.daemon.stderr_text()))
    if "stopped" not in t.daemon.stderr_text():
        t.fail("intactd printed no 'stopped' line after SIGTERM; stderr:\n%s"
               % t.daemon.stderr_text())
    print("intactd stopped %.1f s after SIGTERM" % elapsed)
