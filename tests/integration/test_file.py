"""End-to-end tests of file events: real containers, the decoded JSON stream.

The containers run the image built by image.py. In containerd's default
container spec, / and /tmp are the overlay root filesystem, while /run and
/dev/shm are tmpfs mounts. intactd prints a file event only when a rule
matches: write_readonly_path for a write on the root filesystem outside
/tmp, /var/tmp, /run, /var/run and /dev/shm, and drift_chmod for a chmod that
adds an exec bit to a file on the overlay upper layer.

Most calls are made by the probe helper, which prints "probe: CALL = RESULT"
and, for "probe stat PATH", the device, inode and mount id of PATH. A test
ends its container with "probe unlink /etc/barrier-file", which fails with
ENOENT and is flagged. Once that event is in, every earlier event of the
container is in too, so the test can check that an event is absent.
"""

import base64
import errno
import os
import re
import shlex
import subprocess
import tempfile
import uuid

from harness import (CONTAINER_LABEL, CONTAINER_TIMEOUT, NAMESPACE,
                     TestFailure, field, format_event, test)

# The proto3 JSON form of a Timestamp: UTC, with 0, 3, 6 or 9 fractional
# digits, as few as keep the value exact.
TIME_PATTERN = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.(\d{3}|\d{6}|\d{9}))?Z"
READONLY_RULE = "write_readonly_path"
DRIFT_RULE = "drift_chmod"
BARRIER_PATH = "/etc/barrier-file"
BARRIER = "probe unlink " + BARRIER_PATH

# open(2) flags of x86_64, in octal like fcntl.h.
O_WRONLY = 0o1
O_CREAT = 0o100
O_TRUNC = 0o1000
O_EXCL = 0o200
O_LARGEFILE = 0o100000
O_CLOEXEC = 0o2000000
AT_REMOVEDIR = 0x200
RENAME_NOREPLACE = 1

# The fields every file event has and the value they have unless a test
# expects another. dev and inode are checked separately.
FILE_DEFAULTS = {
    "path_truncated": False,
    "target": "",
    "target_arg": "",
    "flags": 0,
    "mode": 0,
    "uid": 0,
    "gid": 0,
    "result": 0,
    "xattr": "",
    "path_bytes": "",
    "target_bytes": "",
    "upper_layer": False,
    "mount.fs_type": "overlay",
    "mount.path": "/",
    "mount.read_only": False,
    "mount.root": True,
}


class AnyValue:
    """Placeholder for a field whose value the test leaves unchecked."""

    def __repr__(self):
        return "ANY"


# dev, inode and upper_layer of a file that intactd resolves after the call,
# when whether the file still exists depends on timing.
ANY = AnyValue()
UNSETTLED = {"dev": ANY, "inode": ANY, "upper_layer": ANY}


class ContainerRun:
    """A finished container: its name, output and the probe's stat lines."""

    STAT_PATTERN = re.compile(r"^stat (.*) dev (\d+) ino (\d+) mnt (\d+)$")

    def __init__(self, name, result):
        self.name = name
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.stats = {}
        for line in result.stdout.splitlines():
            match = self.STAT_PATTERN.match(line)
            if match:
                path, dev, ino, mnt = match.groups()
                self.stats[path] = (int(dev), ino, int(mnt))

    def stat(self, path):
        if path not in self.stats:
            raise TestFailure("the container printed no 'probe stat %s' "
                              "line. stdout:\n%s" % (path, self.stdout))
        return self.stats[path]


def run_container(t, script, hint, ctr_options=(), expect_exit=0, name=None):
    """Run script with sh -c in a new container and wait for it to exit.

    Unlike TestContext.run, this passes extra ctr options (--read-only,
    --mount), takes a name from t.container_name made in advance, and
    returns the container's output.
    """
    if name is None:
        name = t.container_name(hint)
    command = (["ctr", "-n", NAMESPACE, "run", "--rm", "--label",
                "%s=1" % CONTAINER_LABEL] + list(ctr_options)
               + ["intact-test:latest", name, "sh", "-c", script])
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True,
                                errors="replace", timeout=CONTAINER_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise TestFailure("container %s did not exit within %.0f s: %s"
                          % (name, CONTAINER_TIMEOUT, script))
    if expect_exit is not None and result.returncode != expect_exit:
        raise TestFailure("container %s exited with %d, expected %d: %s\n"
                          "stdout: %r\nstderr: %r"
                          % (name, result.returncode, expect_exit, script,
                             result.stdout, result.stderr))
    return ContainerRun(name, result)


def is_file_event(event, op=None, path_arg=None, syscall=None):
    if event.get("event") != "file":
        return False
    if op is not None and field(event, "file.op", None) != op:
        return False
    if path_arg is not None and field(event, "file.path_arg", None) != path_arg:
        return False
    if syscall is not None and field(event, "file.syscall", None) != syscall:
        return False
    return True


def file_event(t, name, op, path_arg, syscall=None):
    """Wait for the file event of container name with this op and path_arg."""
    return t.wait_event(
        lambda e: is_file_event(e, op, path_arg, syscall),
        "file event op=%s path_arg=%r%s" % (
            op, path_arg, " syscall=" + syscall if syscall else ""),
        container=name)


def wait_barrier(t, name):
    return file_event(t, name, "unlink", BARRIER_PATH)


def file_events(t, name):
    """Return the file events of container name, without the barrier's."""
    return [e for e in t.events(name) if is_file_event(e)
            and field(e, "file.path_arg", None) != BARRIER_PATH]


def check_file_event(t, event, name, expected, rules=(READONLY_RULE,),
                     comm="probe", uid=0):
    """Check every field of a file event of container name.

    expected maps "file." subfields to values and overrides FILE_DEFAULTS.
    dev and inode are checked only when expected names them.
    """
    t.check_field(event, "event", "file")
    t.check_field_matches(event, "time", TIME_PATTERN)
    t.check_field_matches(event, "boot_id", r"[0-9a-f-]{36}")
    t.check_field(event, "node", os.uname().nodename)
    t.check_field(event, "rules", list(rules))
    t.check_field(event, "host", False)
    t.check_field(event, "container.id", name)
    t.check_field(event, "container.runtime", "containerd")
    t.check_field(event, "container.namespace", NAMESPACE)
    t.check_field(event, "container.cgroup", "/%s/%s" % (NAMESPACE, name))
    t.check_positive_int(event, "process.pid")
    t.check_positive_int(event, "process.ns_pid")
    t.check_field(event, "process.comm", comm)
    t.check_field(event, "process.uid", uid)
    t.check_field(event, "process.euid", uid)
    t.check_field_matches(event, "process.exec_id", r"\d+:\d+")
    t.check_positive_int(event, "file.mount.id")

    fields = dict(FILE_DEFAULTS)
    fields.update(expected)
    for key, value in sorted(fields.items()):
        if value is not ANY:
            t.check_field(event, "file." + key, value)


def check_cases(t, name, cases):
    """Check a table of (description, op, path_arg, syscall, expected, rules).

    Every case is checked, and the failures are reported together.
    """
    failures = []
    for description, op, path_arg, syscall, expected, rules in cases:
        try:
            event = file_event(t, name, op, path_arg, syscall)
            check_file_event(t, event, name, expected, rules)
        except TestFailure as e:
            failures.append("%s: %s" % (description, e))
    if failures:
        raise TestFailure("%d of %d cases failed:\n%s"
                          % (len(failures), len(cases),
                             "\n".join(failures)))


def dev_inode(run, path):
    """Return the expected dev and inode fields of path, from probe stat."""
    dev, ino, _ = run.stat(path)
    return {"dev": dev, "inode": ino}


def gone():
    """Return the dev and inode fields of a file that no longer exists."""
    return {"dev": 0, "inode": "0"}


@test
def file_acceptance_scenario(t):
    run = run_container(
        t, "mkdir -p /usr/bin && echo a > /tmp/a && echo x > /etc/motd && "
        "cd /usr/bin && echo x > y && mv /tmp/a /bin/a && echo x > /tmp/ok "
        "&& " + BARRIER, hint="accept")
    wait_barrier(t, run.name)

    flagged = [e for e in file_events(t, run.name)
               if READONLY_RULE in field(e, "rules", [])]
    # mkdir -p /usr/bin is flagged too: the test image has no /usr/bin.
    flagged = [e for e in flagged
               if not (field(e, "file.op") == "mkdir"
                       and field(e, "file.path") == "/usr/bin")]
    paths = sorted(field(e, "file.path") for e in flagged)
    if paths != ["/etc/motd", "/tmp/a", "/usr/bin/y"]:
        t.fail("expected write_readonly_path events for /etc/motd, "
               "/usr/bin/y and the rename of /tmp/a to /bin/a, got paths "
               "%r\n%s" % (paths, "\n".join(format_event(e)
                                            for e in flagged)))

    shell = {"comm": "sh"}
    motd = file_event(t, run.name, "open", "/etc/motd")
    check_file_event(t, motd, run.name, {
        "syscall": "openat", "path": "/etc/motd", "path_arg": "/etc/motd",
        "flags": O_WRONLY | O_CREAT | O_TRUNC, "mode": 0o666, "result": 3,
        "upper_layer": True}, **shell)
    relative = file_event(t, run.name, "open", "y")
    check_file_event(t, relative, run.name, {
        "syscall": "openat", "path": "/usr/bin/y", "path_arg": "y",
        "flags": O_WRONLY | O_CREAT | O_TRUNC, "mode": 0o666, "result": 3,
        "upper_layer": True}, **shell)
    rename = file_event(t, run.name, "rename", "/tmp/a")
    check_file_event(t, rename, run.name, {
        "syscall": "rename", "path": "/tmp/a", "path_arg": "/tmp/a",
        "target": "/bin/a", "target_arg": "/bin/a"} | gone(), comm="mv")

    for event in file_events(t, run.name):
        if field(event, "file.path") == "/tmp/ok":
            t.fail("write to /tmp/ok reported", event)


@test
def file_ops_succeed(t):
    # Each line makes one call, and "probe stat" records the file it touched.
    script = " && ".join([
        "probe openat /etc opened %d 0640" % (O_WRONLY | O_CREAT),
        "probe stat /etc/opened",
        "probe openat2 - /etc/opened2 %d 0600" % (O_WRONLY | O_CREAT),
        "probe stat /etc/opened2",
        "probe creat /etc/created 0644",
        "probe truncate /etc/passwd 0",
        "probe ftruncate /etc/group 0",
        "probe stat /etc/passwd",
        "probe stat /etc/group",
        "echo x > /tmp/moved",
        # glibc makes renameat2 without flags a renameat call.
        "probe renameat2 /tmp moved /etc moved %d" % RENAME_NOREPLACE,
        "probe stat /etc/moved",
        "probe unlinkat /etc moved",
        "probe mkdirat /etc newdir 0750",
        "probe stat /etc/newdir",
        "probe unlinkat /etc newdir %d" % AT_REMOVEDIR,
        "probe mkdirat - /etc/newdir2 0700",
        "probe rmdir /etc/newdir2",
        "probe link /etc/passwd /etc/passwd-link",
        "probe linkat /etc passwd /etc passwd-linkat",
        "probe symlinkat /etc/passwd /etc pw-symlink",
        "probe stat /etc/pw-symlink",
        "probe mknodat - /etc/fifo 010600",
        "probe stat /etc/fifo",
        "probe chmod /etc/opened 0600",
        "probe fchmodat /etc opened2 0644",
        "probe fchmodat2 - /etc/created 0640 0",
        "probe chown /etc/opened 12 34",
        "probe fchownat /etc opened2 56 78",
        "probe utimensat - /etc/opened",
        "probe setxattr /etc/opened user.intact one",
        "probe fsetxattr /etc/opened2 user.intact two",
        "probe removexattr /etc/opened user.intact",
        "probe fremovexattr /etc/opened2 user.intact",
        "probe unlink /etc/created",
        BARRIER,
    ])
    run = run_container(t, script, hint="ops")
    wait_barrier(t, run.name)

    opened = dev_inode(run, "/etc/opened")
    opened2 = dev_inode(run, "/etc/opened2")
    passwd = dev_inode(run, "/etc/passwd")
    group = dev_inode(run, "/etc/group")
    upper = {"upper_layer": True}
    w_creat = O_WRONLY | O_CREAT
    cases = [
        ("openat with a dirfd", "open", "opened", "openat",
         {"syscall": "openat", "path": "/etc/opened", "path_arg": "opened",
          "flags": w_creat, "mode": 0o640, "result": 4} | opened | upper,
         [READONLY_RULE]),
        ("openat2", "open", "/etc/opened2", "openat2",
         {"syscall": "openat2", "path": "/etc/opened2",
          "path_arg": "/etc/opened2", "flags": w_creat, "mode": 0o600,
          "result": 3} | opened2 | upper, [READONLY_RULE]),
        ("creat", "open", "/etc/created", "creat",
         {"syscall": "creat", "path": "/etc/created",
          "path_arg": "/etc/created", "flags": w_creat | O_TRUNC,
          "mode": 0o644, "result": 3, "dev": ANY, "inode": ANY} | upper,
         [READONLY_RULE]),
        ("truncate", "truncate", "/etc/passwd", "truncate",
         {"syscall": "truncate", "path": "/etc/passwd",
          "path_arg": "/etc/passwd"} | passwd | upper, [READONLY_RULE]),
        ("ftruncate", "truncate", "", "ftruncate",
         {"syscall": "ftruncate", "path": "/etc/group", "path_arg": ""}
         | group | upper, [READONLY_RULE]),
        ("renameat2 with dirfds, from /tmp into /etc", "rename", "moved",
         "renameat2",
         {"syscall": "renameat2", "path": "/tmp/moved", "path_arg": "moved",
          "target": "/etc/moved", "target_arg": "moved",
          "flags": RENAME_NOREPLACE} | gone(),
         [READONLY_RULE]),
        ("unlinkat with a dirfd", "unlink", "moved", "unlinkat",
         {"syscall": "unlinkat", "path": "/etc/moved", "path_arg": "moved"}
         | gone(), [READONLY_RULE]),
        ("mkdirat with a dirfd", "mkdir", "newdir", "mkdirat",
         {"syscall": "mkdirat", "path": "/etc/newdir", "path_arg": "newdir",
          "mode": 0o750}, [READONLY_RULE]),
        ("unlinkat AT_REMOVEDIR", "rmdir", "newdir", "unlinkat",
         {"syscall": "unlinkat", "path": "/etc/newdir", "path_arg": "newdir",
          "flags": AT_REMOVEDIR} | gone(), [READONLY_RULE]),
        ("rmdir", "rmdir", "/etc/newdir2", "rmdir",
         {"syscall": "rmdir", "path": "/etc/newdir2",
          "path_arg": "/etc/newdir2"} | gone(), [READONLY_RULE]),
        ("link", "link", "/etc/passwd", "link",
         {"syscall": "link", "path": "/etc/passwd", "path_arg": "/etc/passwd",
          "target": "/etc/passwd-link", "target_arg": "/etc/passwd-link"}
         | passwd | upper, [READONLY_RULE]),
        ("linkat with dirfds", "link", "passwd", "linkat",
         {"syscall": "linkat", "path": "/etc/passwd", "path_arg": "passwd",
          "target": "/etc/passwd-linkat", "target_arg": "passwd-linkat"}
         | passwd | upper, [READONLY_RULE]),
        ("symlinkat with a dirfd", "symlink", "pw-symlink", "symlinkat",
         {"syscall": "symlinkat", "path": "/etc/pw-symlink",
          "path_arg": "pw-symlink", "target_arg": "/etc/passwd"}
         | dev_inode(run, "/etc/pw-symlink"), [READONLY_RULE]),
        ("mknodat of a FIFO", "mknod", "/etc/fifo", "mknodat",
         {"syscall": "mknodat", "path": "/etc/fifo", "path_arg": "/etc/fifo",
          "mode": 0o10600} | dev_inode(run, "/etc/fifo"), [READONLY_RULE]),
        ("chmod without exec bits", "chmod", "/etc/opened", "chmod",
         {"syscall": "chmod", "path": "/etc/opened",
          "path_arg": "/etc/opened", "mode": 0o600} | opened | upper,
         [READONLY_RULE]),
        ("fchmodat with a dirfd", "chmod", "opened2", "fchmodat",
         {"syscall": "fchmodat", "path": "/etc/opened2", "path_arg": "opened2",
          "mode": 0o644} | opened2 | upper, [READONLY_RULE]),
        ("fchmodat2", "chmod", "/etc/created", None,
         {"syscall": "fchmodat2", "path": "/etc/created",
          "path_arg": "/etc/created", "mode": 0o640, "dev": ANY,
          "inode": ANY} | upper, [READONLY_RULE]),
        ("chown", "chown", "/etc/opened", "chown",
         {"syscall": "chown", "path": "/etc/opened",
          "path_arg": "/etc/opened", "uid": 12, "gid": 34} | opened | upper,
         [READONLY_RULE]),
        ("fchownat with a dirfd", "chown", "opened2", "fchownat",
         {"syscall": "fchownat", "path": "/etc/opened2", "path_arg": "opened2",
          "uid": 56, "gid": 78} | opened2 | upper, [READONLY_RULE]),
        ("utimensat", "utimes", "/etc/opened", "utimensat",
         {"syscall": "utimensat", "path": "/etc/opened",
          "path_arg": "/etc/opened"} | opened | upper, [READONLY_RULE]),
        ("setxattr", "setxattr", "/etc/opened", "setxattr",
         {"syscall": "setxattr", "path": "/etc/opened",
          "path_arg": "/etc/opened", "xattr": "user.intact"} | opened | upper,
         [READONLY_RULE]),
        ("fsetxattr", "setxattr", "", "fsetxattr",
         {"syscall": "fsetxattr", "path": "/etc/opened2", "path_arg": "",
          "xattr": "user.intact"} | opened2 | upper, [READONLY_RULE]),
        ("removexattr", "removexattr", "/etc/opened", "removexattr",
         {"syscall": "removexattr", "path": "/etc/opened",
          "path_arg": "/etc/opened", "xattr": "user.intact"} | opened | upper,
         [READONLY_RULE]),
        ("fremovexattr", "removexattr", "", "fremovexattr",
         {"syscall": "fremovexattr", "path": "/etc/opened2", "path_arg": "",
          "xattr": "user.intact"} | opened2 | upper, [READONLY_RULE]),
        ("unlink", "unlink", "/etc/created", "unlink",
         {"syscall": "unlink", "path": "/etc/created",
          "path_arg": "/etc/created"} | gone(), [READONLY_RULE]),
    ]
    check_cases(t, run.name, cases)


@test
def file_ops_fail_flagged(t):
    # The failures happen on the root filesystem, where a failed attempt is
    # flagged like a successful one.
    script = " && ".join([
        "mkdir -p /etc/full && echo x > /etc/full/f",
        "probe unlink /etc/nonexistent",
        "probe rmdir /etc/full",
        "probe rmdir /etc",
        "probe unlinkat /etc full %d" % AT_REMOVEDIR,
        "probe openat - /etc/missing-dir/f %d" % (O_WRONLY | O_CREAT),
        "probe rename /etc/nonexistent /etc/other",
        "probe run-as 1000 1000 /usr/local/bin/probe chmod /etc/passwd 0777",
        "probe run-as 1000 1000 /usr/local/bin/probe openat - /etc/denied "
        "%d" % (O_WRONLY | O_CREAT),
        # EEXIST on mkdir is not worth a report.
        "probe mkdirat - /etc 0755",
        "probe stat /etc/passwd",
        "probe stat /etc/full",
        "probe stat /etc",
        BARRIER,
    ])
    run = run_container(t, script, hint="fail")
    wait_barrier(t, run.name)

    cases = [
        ("unlink of a missing file", "unlink", "/etc/nonexistent", "unlink",
         {"syscall": "unlink", "path": "/etc/nonexistent",
          "path_arg": "/etc/nonexistent", "result": -errno.ENOENT} | gone(),
         [READONLY_RULE]),
        ("rmdir of a directory that is not empty", "rmdir", "/etc/full",
         "rmdir",
         {"syscall": "rmdir", "path": "/etc/full", "path_arg": "/etc/full",
          "result": -errno.ENOTEMPTY} | dev_inode(run, "/etc/full"),
         [READONLY_RULE]),
        ("rmdir of a directory in /", "rmdir", "/etc", "rmdir",
         {"syscall": "rmdir", "path": "/etc", "path_arg": "/etc",
          "result": -errno.ENOTEMPTY} | dev_inode(run, "/etc"),
         [READONLY_RULE]),
        ("unlinkat AT_REMOVEDIR of a directory that is not empty", "rmdir",
         "full", "unlinkat",
         {"syscall": "unlinkat", "path": "/etc/full", "path_arg": "full",
          "flags": AT_REMOVEDIR, "result": -errno.ENOTEMPTY}
         | dev_inode(run, "/etc/full"), [READONLY_RULE]),
        ("open in a missing directory", "open", "/etc/missing-dir/f",
         "openat",
         {"syscall": "openat", "path": "/etc/missing-dir/f",
          "path_arg": "/etc/missing-dir/f", "flags": O_WRONLY | O_CREAT,
          "mode": 0o644, "result": -errno.ENOENT} | gone(), [READONLY_RULE]),
        ("rename of a missing file", "rename", "/etc/nonexistent", "rename",
         {"syscall": "rename", "path": "/etc/nonexistent",
          "path_arg": "/etc/nonexistent", "target": "/etc/other",
          "target_arg": "/etc/other", "result": -errno.ENOENT} | gone(),
         [READONLY_RULE]),
    ]
    check_cases(t, run.name, cases)

    # The calls made by uid 1000 need their own process checks.
    passwd = dev_inode(run, "/etc/passwd")
    event = file_event(t, run.name, "chmod", "/etc/passwd")
    check_file_event(t, event, run.name, {
        "syscall": "chmod", "path": "/etc/passwd", "path_arg": "/etc/passwd",
        "mode": 0o777, "result": -errno.EPERM} | passwd, uid=1000)
    event = file_event(t, run.name, "open", "/etc/denied")
    check_file_event(t, event, run.name, {
        "syscall": "openat", "path": "/etc/denied", "path_arg": "/etc/denied",
        "flags": O_WRONLY | O_CREAT, "mode": 0o644,
        "result": -errno.EACCES} | gone(), uid=1000)

    for event in file_events(t, run.name):
        if field(event, "file.op") == "mkdir" and \
                field(event, "file.path_arg") == "/etc":
            t.fail("mkdir of an existing directory reported", event)


@test
def file_readonly_rootfs_erofs(t):
    script = " && ".join([
        "probe openat - /etc/motd %d" % (O_WRONLY | O_CREAT | O_TRUNC),
        "probe mkdirat - /etc/newdir 0755",
        BARRIER,
    ])
    run = run_container(t, script, hint="rofs", ctr_options=["--read-only"])
    wait_barrier(t, run.name)

    readonly = {"mount.read_only": True}
    cases = [
        ("open on a read-only root", "open", "/etc/motd", "openat",
         {"syscall": "openat", "path": "/etc/motd", "path_arg": "/etc/motd",
          "flags": O_WRONLY | O_CREAT | O_TRUNC, "mode": 0o644,
          "result": -errno.EROFS} | gone() | readonly, [READONLY_RULE]),
        ("mkdir on a read-only root", "mkdir", "/etc/newdir", "mkdirat",
         {"syscall": "mkdirat", "path": "/etc/newdir",
          "path_arg": "/etc/newdir", "mode": 0o755, "result": -errno.EROFS}
         | gone() | readonly, [READONLY_RULE]),
    ]
    check_cases(t, run.name, cases)


@test
def file_drift_chmod_upper(t):
    script = " && ".join([
        "echo x > /tmp/dropped",
        "probe chmod /tmp/dropped 0755",
        "probe chmod /tmp/dropped 0644",
        # A file of the image: the chmod copies it up first.
        "probe chmod /etc/group 0711",
        "probe stat /tmp/dropped",
        "probe stat /etc/group",
        BARRIER,
    ])
    run = run_container(t, script, hint="drift")
    wait_barrier(t, run.name)

    exec_bits = file_event(t, run.name, "chmod", "/tmp/dropped")
    check_file_event(t, exec_bits, run.name, {
        "syscall": "chmod", "path": "/tmp/dropped",
        "path_arg": "/tmp/dropped", "mode": 0o755, "upper_layer": True}
        | dev_inode(run, "/tmp/dropped"), rules=[DRIFT_RULE])
    image_file = file_event(t, run.name, "chmod", "/etc/group")
    check_file_event(t, image_file, run.name, {
        "syscall": "chmod", "path": "/etc/group",
        "path_arg": "/etc/group", "mode": 0o711, "upper_layer": True}
        | dev_inode(run, "/etc/group"), rules=[READONLY_RULE, DRIFT_RULE])

    # chmod 0644 in /tmp adds no exec bit and is allowed.
    chmods = [e for e in file_events(t, run.name)
              if field(e, "file.path") == "/tmp/dropped"]
    if len(chmods) != 1:
        t.fail("expected one event for /tmp/dropped (the chmod 0755), got "
               "%d:\n%s" % (len(chmods),
                             "\n".join(format_event(e) for e in chmods)))


@test
def file_path_through_symlinks(t):
    script = " && ".join([
        "echo x > /etc/motd && echo x > /etc/x && echo x > /etc/y",
        "mkdir -p /etc/sub",
        "ln -s /etc /tmp/e",
        "ln -s /etc/sub /tmp/s",
        # A symlinked directory in the middle of the name.
        "probe unlink /tmp/e/motd",
        # ".." after a symlink goes to the parent of the target: /etc.
        "probe unlink /tmp/s/../x",
        "probe openat - /tmp/s/../opened %d" % (O_WRONLY | O_CREAT),
        "probe stat /etc/opened",
        # The process's own root through procfs.
        "probe unlink /proc/self/root/etc/y",
        "probe openat - /proc/self/root/etc/proc-opened %d"
        % (O_WRONLY | O_CREAT),
        "probe stat /etc/proc-opened",
        # A symlink to a protected directory, by a relative name.
        "cd /tmp/e && probe unlinkat - opened",
        BARRIER,
    ])
    run = run_container(t, script, hint="symlink")
    wait_barrier(t, run.name)

    w_creat = O_WRONLY | O_CREAT
    upper = {"upper_layer": True}
    cases = [
        ("symlinked directory in the middle", "unlink", "/tmp/e/motd",
         "unlink", {"syscall": "unlink", "path": "/etc/motd",
                    "path_arg": "/tmp/e/motd"} | gone(), [READONLY_RULE]),
        ("'..' after a symlink", "unlink", "/tmp/s/../x", "unlink",
         {"syscall": "unlink", "path": "/etc/x", "path_arg": "/tmp/s/../x"}
         | gone(), [READONLY_RULE]),
        ("open with '..' after a symlink", "open", "/tmp/s/../opened",
         "openat",
         {"syscall": "openat", "path": "/etc/opened",
          "path_arg": "/tmp/s/../opened", "flags": w_creat, "mode": 0o644,
          "result": 3} | dev_inode(run, "/etc/opened") | upper,
         [READONLY_RULE]),
        ("/proc/self/root", "unlink", "/proc/self/root/etc/y", "unlink",
         {"syscall": "unlink", "path": "/etc/y",
          "path_arg": "/proc/self/root/etc/y"} | gone(), [READONLY_RULE]),
        ("open through /proc/self/root", "open",
         "/proc/self/root/etc/proc-opened", "openat",
         {"syscall": "openat", "path": "/etc/proc-opened",
          "path_arg": "/proc/self/root/etc/proc-opened", "flags": w_creat,
          "mode": 0o644, "result": 3}
         | dev_inode(run, "/etc/proc-opened") | upper, [READONLY_RULE]),
        ("relative name in a symlinked cwd", "unlink", "opened", "unlinkat",
         {"syscall": "unlinkat", "path": "/etc/opened", "path_arg": "opened"}
         | gone(), [READONLY_RULE]),
    ]
    check_cases(t, run.name, cases)


@test
def file_hard_link_protected(t):
    script = " && ".join([
        "ln /etc/passwd /tmp/pw",
        "probe stat /etc/passwd",
        BARRIER,
    ])
    run = run_container(t, script, hint="hardlink")
    wait_barrier(t, run.name)

    event = file_event(t, run.name, "link", "/etc/passwd")
    check_file_event(t, event, run.name, {
        "syscall": "link", "path": "/etc/passwd", "path_arg": "/etc/passwd",
        "target": "/tmp/pw", "target_arg": "/tmp/pw", "upper_layer": True}
        | dev_inode(run, "/etc/passwd"), comm="ln")
    if field(event, "file.inode") == "0" or field(event, "file.dev") == 0:
        t.fail("file.dev and file.inode: expected those of /etc/passwd",
               event)


@test
def file_io_uring_ops(t):
    script = " && ".join([
        "probe io-uring-openat /etc uring-opened %d 0640"
        % (O_WRONLY | O_CREAT),
        "probe io-uring-mkdirat - /etc/uring-dir 0700",
        "probe io-uring-renameat /etc uring-opened /etc uring-renamed",
        "probe io-uring-unlinkat /etc uring-renamed",
        "probe io-uring-unlinkat - /etc/uring-dir %d" % AT_REMOVEDIR,
        BARRIER,
    ])
    run = run_container(t, script, hint="uring")
    wait_barrier(t, run.name)
    if re.search(r"^probe: io-uring-\S+ = -", run.stdout, re.MULTILINE):
        t.fail("an io_uring request failed in the container:\n" + run.stdout)

    # io_uring requests are reported at submission, before they have a
    # result, so result is 0 and the file is not known yet.
    cases = [
        ("IORING_OP_OPENAT with a dirfd", "open", "uring-opened", "io_uring",
         {"syscall": "io_uring", "path": "/etc/uring-opened",
          "path_arg": "uring-opened",
          "flags": O_WRONLY | O_CREAT | O_LARGEFILE, "mode": 0o640}
         | UNSETTLED, [READONLY_RULE]),
        ("IORING_OP_MKDIRAT", "mkdir", "/etc/uring-dir", "io_uring",
         {"syscall": "io_uring", "path": "/etc/uring-dir",
          "path_arg": "/etc/uring-dir", "mode": 0o700} | UNSETTLED,
         [READONLY_RULE]),
        ("IORING_OP_RENAMEAT with dirfds", "rename", "uring-opened",
         "io_uring",
         {"syscall": "io_uring", "path": "/etc/uring-opened",
          "path_arg": "uring-opened", "target": "/etc/uring-renamed",
          "target_arg": "uring-renamed"} | UNSETTLED, [READONLY_RULE]),
        ("IORING_OP_UNLINKAT", "unlink", "uring-renamed", "io_uring",
         {"syscall": "io_uring", "path": "/etc/uring-renamed",
          "path_arg": "uring-renamed"} | UNSETTLED, [READONLY_RULE]),
        ("IORING_OP_UNLINKAT with AT_REMOVEDIR", "rmdir", "/etc/uring-dir",
         "io_uring",
         {"syscall": "io_uring", "path": "/etc/uring-dir",
          "path_arg": "/etc/uring-dir", "flags": AT_REMOVEDIR} | UNSETTLED,
         [READONLY_RULE]),
    ]
    check_cases(t, run.name, cases)


@test
def file_writable_places_ignored(t):
    script = " && ".join([
        "echo x > /tmp/ok",
        "probe openat - /tmp/ok2 %d" % (O_WRONLY | O_CREAT),
        "probe unlink /tmp/ok",
        "mkdir -p /var/tmp && echo x > /var/tmp/ok",
        "echo x > /run/ok",
        "echo x > /dev/shm/ok",
        "probe chmod /run/ok 0644",
        "echo x > /data/ok",
        "probe unlink /data/ok",
        "mkdir /data/dir",
        BARRIER,
    ])
    volume = tempfile.mkdtemp(prefix="intact-volume-")
    try:
        run = run_container(t, script, hint="allowed", ctr_options=[
            "--mount", "type=bind,src=%s,dst=/data,options=rbind:rw"
            % volume])
        wait_barrier(t, run.name)
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", volume])

    events = file_events(t, run.name)
    # mkdir -p /var/tmp creates /var in the root filesystem, outside the
    # allowed directories.
    unexpected = [e for e in events
                  if not (field(e, "file.op") == "mkdir"
                          and field(e, "file.path") == "/var")]
    if unexpected:
        t.fail("writes in /tmp, /var/tmp, /run, /dev/shm and a volume "
               "reported:\n" + "\n".join(format_event(e)
                                         for e in unexpected))


@test
def file_host_write_ignored_by_default(t):
    directory = tempfile.mkdtemp(prefix="intact-host-")
    marker = os.path.join(directory, "file-" + uuid.uuid4().hex[:8])
    try:
        with open(marker, "w") as f:
            f.write("x")
        os.unlink(marker)
        run = run_container(t, BARRIER, hint="barrier")
        wait_barrier(t, run.name)
    finally:
        os.rmdir(directory)

    for event in t.events():
        if marker in str(field(event, "file.path", "")):
            t.fail("host write reported without --host-path", event)
        if event.get("event") == "file" and field(event, "host", None):
            t.fail("host file event without --host-path", event)


@test
def file_host_path_reported(t):
    directory = tempfile.mkdtemp(prefix="intact-host-")
    marker = os.path.join(directory, "file-" + uuid.uuid4().hex[:8])
    try:
        t.restart_daemon(["--host-path", directory])
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        event = t.wait_event(
            lambda e: e.get("event") == "file"
            and field(e, "file.path", None) == marker,
            "file event for the host file " + marker)
    finally:
        if os.path.exists(marker):
            os.unlink(marker)
        os.rmdir(directory)

    t.check_field(event, "rules", [READONLY_RULE])
    t.check_field(event, "host", True)
    t.check_field(event, "container.id", "")
    t.check_field(event, "process.pid", os.getpid())
    t.check_field(event, "file.op", "open")
    t.check_field(event, "file.syscall", "openat")
    t.check_field(event, "file.path_arg", marker)
    t.check_field(event, "file.flags",
                  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC)
    t.check_field(event, "file.mode", 0o600)
    t.check_field(event, "file.result", fd)


@test
def file_names_not_utf8(t):
    # ctr's JSON would replace invalid UTF-8 in the command, so the shell in
    # the container builds the names.
    script = " && ".join([
        "probe openat - \"/etc/nl$(printf 'a\\nb')\" %d" % (O_WRONLY | O_CREAT),
        "probe openat - \"/etc/bin$(printf 'a\\377b\\303')\" %d"
        % (O_WRONLY | O_CREAT),
        "probe unlink \"/etc/bin$(printf 'a\\377b\\303')\"",
        BARRIER,
    ])
    run = run_container(t, script, hint="names")
    wait_barrier(t, run.name)

    newline = file_event(t, run.name, "open", "/etc/nla\nb")
    check_file_event(t, newline, run.name, {
        "syscall": "openat", "path": "/etc/nla\nb", "path_arg": "/etc/nla\nb",
        "flags": O_WRONLY | O_CREAT, "mode": 0o644, "result": 3,
        "upper_layer": True, "dev": ANY, "inode": ANY})

    raw = b"/etc/bina\xffb\xc3"
    replaced = raw.decode("utf-8", "replace")
    for op, syscall, extra in [
            ("open", "openat", {"flags": O_WRONLY | O_CREAT, "mode": 0o644,
                                "result": 3, "upper_layer": True}),
            ("unlink", "unlink", gone())]:
        event = t.wait_event(
            lambda e: is_file_event(e, op) and
            field(e, "file.path", "").startswith("/etc/bina"),
            "%s event for the name that is not UTF-8" % op,
            container=run.name)
        expected = {"syscall": syscall, "path": replaced,
                    "path_arg": replaced,
                    "path_bytes": base64.b64encode(raw).decode()} | extra
        if op == "open":
            expected |= {"dev": ANY, "inode": ANY}
        check_file_event(t, event, run.name, expected)
        decoded = base64.b64decode(field(event, "file.path_bytes"))
        if decoded != raw:
            t.fail("file.path_bytes: expected the bytes %r, got %r"
                   % (raw, decoded), event)
