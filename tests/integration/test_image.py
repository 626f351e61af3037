"""End-to-end tests of image verification against signed manifests.

Every test builds images of its own. GNU tar writes the layer tars, because
Debian's umoci 0.4.7 leaves out the end-of-archive blocks, which intact
rejects. This module writes the OCI layout's JSON, and ctr imports the layout
under a name that contains the process id. The base layer holds a random
marker file, so no snapshot is shared with another image, and a test may
change a layer's directory on the node. The shared intact-test image is never
touched.

intactd runs with --trust-dir pointing at a directory the test fills with
public keys and manifests made by intactctl seal. Containers run detached
with the CRI image name annotation, so intactd matches the manifest by name,
and they live until the test removes them, so the verdict names them.
"""

import base64
import contextlib
import gzip
import hashlib
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import tempfile
import time
import uuid

from harness import (BUILD_DIR, CONTAINER_LABEL, CONTAINER_TIMEOUT,
                     EVENT_TIMEOUT, NAMESPACE, RUN_DIR, HarnessError,
                     TestFailure, container_remove, field, test)

INTACTCTL = os.path.join(BUILD_DIR, "intactctl")
BUSYBOX_HOST_PATH = "/bin/busybox"
BUSYBOX_APPLETS = ["sh", "cat", "ls", "sleep", "test", "readlink"]
IMAGE_NAME_ANNOTATION = "io.kubernetes.cri.image-name"
IMAGE_PATH_ENV = "PATH=/bin"
# The file that makes every base layer unique.
MARKER_PATH = "etc/intact-image"
# Go's names for the machine, as OCI image configs use them.
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}
SNAPSHOT_DIR_PATTERN = (r"/var/lib/containerd/io\.containerd\.snapshotter"
                        r"\.v1\.overlayfs/snapshots/\d+/fs")
DIGEST_PATTERN = r"sha256:[0-9a-f]{64}"
# Hashing runs at idle IO priority, so a verdict may take longer than the
# exec and file events.
VERDICT_TIMEOUT = max(EVENT_TIMEOUT, 30.0)
# Seconds between the open of a layer file on the node and the write.
TAMPER_WRITE_DELAY = 0.5

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"


def command_run(argv, check=True, **kwargs):
    result = subprocess.run(argv, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise HarnessError("command failed with exit code %d: %s\n"
                           "stdout: %s\nstderr: %s"
                           % (result.returncode, " ".join(argv),
                              result.stdout.strip(), result.stderr.strip()))
    return result


def sha256_text(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- Layers and OCI layouts ---

def base_layer(hint):
    """Return the entries of a bottom layer with a static busybox and sh.

    The marker file's random content gives the layer, and every layer above
    it, a snapshot of its own, even across runs.
    """
    with open(BUSYBOX_HOST_PATH, "rb") as f:
        busybox = f.read()
    marker = "%s %d %s" % (hint, os.getpid(), uuid.uuid4().hex)
    entries = [
        ("bin", "dir", 0o755),
        ("bin/busybox", "file", (busybox, 0o755)),
        ("etc", "dir", 0o755),
        (MARKER_PATH, "file", (marker.encode() + b"\n", 0o644)),
        ("tmp", "dir", 0o1777),
    ]
    entries += [("bin/" + applet, "symlink", "busybox")
                for applet in BUSYBOX_APPLETS]
    return entries


def layer_tar(staging, entries, tar_path):
    """Write entries into staging, then tar them with GNU tar.

    An entry is (path, "dir", mode), (path, "file", (content, mode)),
    (path, "symlink", target) or (path, "hardlink", existing path).
    Whiteouts are files named as the OCI image spec names them.
    """
    os.makedirs(staging)
    for path, kind, value in entries:
        full = os.path.join(staging, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if kind == "dir":
            os.makedirs(full, exist_ok=True)
            os.chmod(full, value)
        elif kind == "file":
            content, mode = value
            with open(full, "wb") as f:
                f.write(content)
            os.chmod(full, mode)
        elif kind == "symlink":
            os.symlink(value, full)
        elif kind == "hardlink":
            os.link(os.path.join(staging, value), full)
        else:
            raise ValueError("unknown entry kind %r" % kind)
    command_run(["tar", "-C", staging, "--sort=name", "--numeric-owner",
                 "--owner=0", "--group=0", "--mtime=@0", "-cf", tar_path]
                + sorted(os.listdir(staging)))


def blob_write(blobs, data):
    digest = sha256_text(data)
    with open(os.path.join(blobs, digest[len("sha256:"):]), "wb") as f:
        f.write(data)
    return {"digest": digest, "size": len(data)}


class TestImage:
    """An image built from layer entries, in an OCI layout and in containerd.

    ref is the name containerd gives it and the name it is sealed under.
    """

    def __init__(self, hint):
        self.ref = "intact-it-%d-%s:latest" % (os.getpid(), hint)
        self.base_name = self.ref.rsplit(":", 1)[0]
        self.work = tempfile.mkdtemp(prefix="image-%s-" % hint, dir=RUN_DIR)
        self.layout = os.path.join(self.work, "oci")
        self.layer_blobs = []
        self.manifest_digest = None
        self.imported = False

    def build(self, layers):
        """Write the OCI layout of layers, bottom-most first."""
        blobs = os.path.join(self.layout, "blobs", "sha256")
        os.makedirs(blobs)
        descriptors = []
        diff_ids = []
        for i, entries in enumerate(layers):
            tar_path = os.path.join(self.work, "layer-%d.tar" % i)
            layer_tar(os.path.join(self.work, "layer-%d" % i), entries,
                      tar_path)
            with open(tar_path, "rb") as f:
                raw = f.read()
            diff_ids.append(sha256_text(raw))
            descriptor = blob_write(blobs, gzip.compress(raw, mtime=0))
            self.layer_blobs.append(descriptor["digest"])
            descriptors.append(dict(mediaType=MEDIA_LAYER, **descriptor))

        config = {
            "architecture": ARCHITECTURES.get(platform.machine(),
                                              platform.machine()),
            "os": "linux",
            "config": {"Env": [IMAGE_PATH_ENV], "Cmd": ["/bin/sh"],
                       "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
        config_descriptor = blob_write(
            blobs, json.dumps(config, sort_keys=True).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": dict(mediaType=MEDIA_CONFIG, **config_descriptor),
            "layers": descriptors,
        }
        manifest_descriptor = blob_write(
            blobs, json.dumps(manifest, sort_keys=True).encode())
        self.manifest_digest = manifest_descriptor["digest"]
        index = {
            "schemaVersion": 2,
            "mediaType": MEDIA_INDEX,
            "manifests": [dict(
                mediaType=MEDIA_MANIFEST, **manifest_descriptor,
                annotations={"org.opencontainers.image.ref.name": "latest"})],
        }
        with open(os.path.join(self.layout, "index.json"), "w") as f:
            json.dump(index, f)
        with open(os.path.join(self.layout, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)

    def blob_path(self, digest):
        return os.path.join(self.layout, "blobs", "sha256",
                            digest[len("sha256:"):])

    def import_into_containerd(self):
        archive = os.path.join(self.work, "image.tar")
        command_run(["tar", "-C", self.layout, "-cf", archive, "."])
        self.imported = True
        # --base-name names the image after the layout's "latest" tag.
        command_run(["ctr", "-n", NAMESPACE, "image", "import",
                     "--base-name", self.base_name, archive],
                    timeout=CONTAINER_TIMEOUT)

    def remove(self):
        """Remove the image, with the sha256:CONFIG name CRI adds, and files."""
        if self.imported:
            listing = command_run(["ctr", "-n", NAMESPACE, "image", "ls"],
                                  check=False)
            for line in listing.stdout.splitlines()[1:]:
                fields = line.split()
                if len(fields) < 3:
                    continue
                if fields[0] == self.ref or (
                        fields[0].startswith("sha256:")
                        and fields[2] == self.manifest_digest):
                    command_run(["ctr", "-n", NAMESPACE, "image", "rm",
                                 fields[0]], check=False)
        shutil.rmtree(self.work, ignore_errors=True)


@contextlib.contextmanager
def built_image(t, hint, layers):
    """Build and import an image, and remove it and the test's containers."""
    image = TestImage(hint)
    try:
        image.build(layers)
        image.import_into_containerd()
        yield image
    finally:
        # The containers go first, so that nothing uses the image any more.
        for name in t.containers:
            container_remove(name)
        image.remove()


# --- Keys, manifests and the trust directory ---

class SigningKey:
    """A P-256 key pair made with openssl, and its intact key id."""

    def __init__(self, directory, name):
        self.private_path = os.path.join(directory, name + ".key")
        self.public_path = os.path.join(directory, name + ".pem")
        command_run(["openssl", "ecparam", "-name", "prime256v1", "-genkey",
                     "-noout", "-out", self.private_path])
        command_run(["openssl", "ec", "-in", self.private_path, "-pubout",
                     "-out", self.public_path])
        der = subprocess.run(["openssl", "pkey", "-pubin", "-in",
                              self.public_path, "-outform", "DER"],
                             capture_output=True, check=True).stdout
        # The key id is the SHA-256 of the DER SubjectPublicKeyInfo.
        self.key_id = hashlib.sha256(der).hexdigest()


class TrustDir:
    """A trust directory: keys/*.pem and manifests/*.json with .json.sig."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="trust-", dir=RUN_DIR)
        self.keys = os.path.join(self.path, "keys")
        self.manifests = os.path.join(self.path, "manifests")
        self.private = os.path.join(self.path, "private")
        for directory in (self.keys, self.manifests, self.private):
            os.makedirs(directory)

    def key_create(self, name, trusted=True):
        key = SigningKey(self.private, name)
        if trusted:
            shutil.copyfile(key.public_path,
                            os.path.join(self.keys, name + ".pem"))
        return key

    def manifest_path(self, name):
        return os.path.join(self.manifests, name + ".json")

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


@contextlib.contextmanager
def trust_dir():
    trust = TrustDir()
    try:
        yield trust
    finally:
        trust.remove()


def seal(image, key, output, name=None, check=True):
    """Run intactctl seal on the image's layout and return the result."""
    argv = [INTACTCTL, "seal", "--key", key.private_path, "--output", output,
            "--name", name or image.ref, image.layout + ":latest"]
    result = command_run(argv, check=False)
    if check and result.returncode != 0:
        raise TestFailure("intactctl seal failed with exit code %d: %s\n"
                          "stderr: %s" % (result.returncode, " ".join(argv),
                                          result.stderr.strip()))
    return result


def manifest_read(path):
    with open(path) as f:
        return json.load(f)


def manifest_file(manifest, layer, path):
    for entry in manifest["layers"][layer]["files"]:
        if entry.get("path") == path:
            return entry
    raise TestFailure("layer %d of the manifest has no file %r"
                      % (layer, path))


def daemon_start(t, trust):
    t.restart_daemon(["--trust-dir", trust.path])


# --- Containers and verdicts ---

def container_start(t, image, hint, argv=("sleep", "300")):
    """Start a detached container of image with the CRI image name."""
    name = t.container_name(hint)
    command = ["ctr", "-n", NAMESPACE, "run", "-d",
               "--label", "%s=1" % CONTAINER_LABEL,
               "--annotation", "%s=%s" % (IMAGE_NAME_ANNOTATION, image.ref),
               image.ref, name] + list(argv)
    result = command_run(command, check=False, timeout=CONTAINER_TIMEOUT)
    if result.returncode != 0:
        raise TestFailure("container %s did not start (exit code %d)\n"
                          "stderr: %s" % (name, result.returncode,
                                          result.stderr.strip()))
    return name


def container_exec(name, script):
    """Run script with sh -c in the running container; return the result."""
    return command_run(["ctr", "-n", NAMESPACE, "task", "exec", "--exec-id",
                        "check-%d" % os.getpid(), name, "sh", "-c", script],
                       check=False, timeout=CONTAINER_TIMEOUT)


def is_image_event(event, rule=None):
    if event.get("event") != "image":
        return False
    return rule is None or rule in field(event, "rules", [])


def verdict_wait(t, name, rule=None, after=None):
    """Wait for an image event of container name, optionally with rule.

    after skips the events up to and including that one.
    """
    def matches(event):
        if after is not None and int(event["seq"]) <= int(after["seq"]):
            return False
        return is_image_event(event, rule)
    return t.wait_event(matches, "image event%s for container %s"
                        % (" with rule " + rule if rule else "", name),
                        container=name, timeout=VERDICT_TIMEOUT)


def image_events(t, name):
    return [e for e in t.events(name) if is_image_event(e)]


def check_verdict_header(t, event, name, rule, verdict, image):
    t.check_field(event, "event", "image")
    t.check_field(event, "rules", [rule])
    t.check_field(event, "host", False)
    t.check_field(event, "container.id", name)
    t.check_field(event, "container.runtime", "containerd")
    t.check_field(event, "container.namespace", NAMESPACE)
    t.check_field(event, "container.image", image.ref)
    t.check_field(event, "image.verdict", verdict)
    t.check_field(event, "image.image", image.ref)
    t.check_field(event, "image.message", "")


def check_layer(t, event, index, expected_digest, actual_digest, match,
                differing_paths=(), differing_count=0):
    """Check image.layers[index]; a digest of None is left unchecked."""
    layers = field(event, "image.layers", [])
    if index >= len(layers):
        t.fail("image.layers: expected a layer %d, got %d layers"
               % (index, len(layers)), event)
    layer = layers[index]
    prefix = "image.layers.%d." % index
    if layer.get("index") != index:
        t.fail(prefix + "index: expected %d, got %r"
               % (index, layer.get("index")), event)
    directory = layer.get("directory", "")
    if not re.fullmatch(SNAPSHOT_DIR_PATTERN, directory):
        t.fail(prefix + "directory: expected an overlayfs snapshot "
               "directory, got %r" % directory, event)
    if expected_digest is not None and \
            layer.get("expected_digest") != expected_digest:
        t.fail(prefix + "expected_digest: expected %r, got %r"
               % (expected_digest, layer.get("expected_digest")), event)
    if actual_digest is not None and \
            layer.get("actual_digest") != actual_digest:
        t.fail(prefix + "actual_digest: expected %r, got %r"
               % (actual_digest, layer.get("actual_digest")), event)
    if not re.fullmatch(DIGEST_PATTERN, layer.get("actual_digest", "")):
        t.fail(prefix + "actual_digest: expected a sha256 digest, got %r"
               % layer.get("actual_digest"), event)
    if layer.get("match") is not match:
        t.fail(prefix + "match: expected %r, got %r"
               % (match, layer.get("match")), event)
    if layer.get("differing_paths") != list(differing_paths):
        t.fail(prefix + "differing_paths: expected %r, got %r"
               % (list(differing_paths), layer.get("differing_paths")),
               event)
    if layer.get("differing_count") != differing_count:
        t.fail(prefix + "differing_count: expected %d, got %r"
               % (differing_count, layer.get("differing_count")), event)
    return layer


def check_verified(t, event, name, image, manifest_path, key):
    """Check every field of an image_verified event against the manifest."""
    manifest = manifest_read(manifest_path)
    check_verdict_header(t, event, name, "image_verified",
                         "VERDICT_VERIFIED", image)
    t.check_field(event, "image.manifest", manifest_path)
    t.check_field(event, "image.key_id", key.key_id)
    layers = field(event, "image.layers", [])
    if len(layers) != len(manifest["layers"]):
        t.fail("image.layers: expected %d layers, got %d"
               % (len(manifest["layers"]), len(layers)), event)
    for i, layer in enumerate(manifest["layers"]):
        check_layer(t, event, i, layer["content_digest"],
                    layer["content_digest"], True)


def layer_directory(event, index):
    return field(event, "image.layers")[index]["directory"]


def status_events(t, state):
    return [e for e in t.events() if e.get("event") == "status"
            and field(e, "status.state", None) == state]


# --- Tests ---

@test
def image_sealed_verified(t):
    with trust_dir() as trust, built_image(t, "sealed", [
            base_layer("sealed"),
            [("etc", "dir", 0o755),
             ("etc/motd", "file", (b"upper layer\n", 0o644)),
             ("etc/intact-upper", "file", (b"sealed upper\n", 0o600))],
    ]) as image:
        key = trust.key_create("seal")
        manifest_path = trust.manifest_path("sealed")
        seal(image, key, manifest_path)
        manifest = manifest_read(manifest_path)
        if manifest.get("key_id") != key.key_id:
            t.fail("manifest key_id: expected %s, got %r"
                   % (key.key_id, manifest.get("key_id")))
        if manifest.get("image") != image.ref:
            t.fail("manifest image: expected %r, got %r"
                   % (image.ref, manifest.get("image")))
        if manifest.get("manifest_digest") != image.manifest_digest:
            t.fail("manifest manifest_digest: expected %s, got %r"
                   % (image.manifest_digest, manifest.get("manifest_digest")))

        daemon_start(t, trust)
        name = container_start(t, image, "sealed")
        event = verdict_wait(t, name)
        check_verified(t, event, name, image, manifest_path, key)


@test
def image_layer_tamper_detected(t):
    upper_marker = "etc/intact-upper"
    with trust_dir() as trust, built_image(t, "tamper", [
            base_layer("tamper"),
            [("etc", "dir", 0o755),
             (upper_marker, "file", (b"tamper upper layer\n", 0o644))],
    ]) as image:
        key = trust.key_create("seal")
        manifest_path = trust.manifest_path("tamper")
        seal(image, key, manifest_path)
        manifest = manifest_read(manifest_path)
        expected = [layer["content_digest"] for layer in manifest["layers"]]

        daemon_start(t, trust)
        first = container_start(t, image, "tamper1")
        verified = verdict_wait(t, first)
        check_verified(t, verified, first, image, manifest_path, key)

        # One byte of a file in the upper layer's directory on the node.
        # intactd sees the tamper at the open, so the write comes a moment
        # later: the verifier must hash what was written, not what the open
        # found.
        directory = layer_directory(verified, 1)
        path = os.path.join(directory, upper_marker)
        fd = os.open(path, os.O_WRONLY)
        try:
            time.sleep(TAMPER_WRITE_DELAY)
            os.pwrite(fd, b"T", 0)
        finally:
            os.close(fd)

        tamper = t.wait_event(
            lambda e: e.get("event") == "file"
            and "layer_tamper" in field(e, "rules", [])
            and field(e, "file.path", None) == path,
            "layer_tamper event for " + path)
        t.check_field(tamper, "rules", ["layer_tamper"])
        t.check_field(tamper, "host", True)
        t.check_field(tamper, "container.id", "")
        t.check_field(tamper, "process.pid", os.getpid())
        t.check_field(tamper, "file.op", "open")
        t.check_field(tamper, "file.layer", directory)
        t.check_field(tamper, "file.path", path)

        # The running container is verified again, and fails.
        again = verdict_wait(t, first, after=verified)
        check_verdict_header(t, again, first, "image_layer_mismatch",
                             "VERDICT_LAYER_MISMATCH", image)
        t.check_field(again, "image.manifest", manifest_path)
        check_layer(t, again, 0, expected[0], expected[0], True)
        check_layer(t, again, 1, expected[1], None, False,
                    [upper_marker], 1)

        second = container_start(t, image, "tamper2")
        event = verdict_wait(t, second)
        check_verdict_header(t, event, second, "image_layer_mismatch",
                             "VERDICT_LAYER_MISMATCH", image)
        t.check_field(event, "image.manifest", manifest_path)
        t.check_field(event, "image.key_id", key.key_id)
        check_layer(t, event, 0, expected[0], expected[0], True)
        layer = check_layer(t, event, 1, expected[1], None, False,
                            [upper_marker], 1)
        if layer["actual_digest"] == expected[1]:
            t.fail("image.layers.1.actual_digest: expected a digest other "
                   "than the sealed one", event)


@test
def image_whiteouts_verified(t):
    base = base_layer("whiteouts") + [
        ("data", "dir", 0o755),
        ("data/keep", "file", (b"keep\n", 0o644)),
        ("data/remove-me", "file", (b"old\n", 0o644)),
        ("opaque", "dir", 0o750),
        ("opaque/old1", "file", (b"old1\n", 0o644)),
        ("opaque/sub", "dir", 0o755),
        ("opaque/sub/old2", "file", (b"old2\n", 0o644)),
        ("gone-dir", "dir", 0o755),
        ("gone-dir/f", "file", (b"f\n", 0o644)),
        ("etc/config", "file", (b"v1\n", 0o644)),
    ]
    deleting = [
        ("etc", "dir", 0o755),
        ("etc/intact-layer1", "file", (b"whiteouts 1\n", 0o644)),
        ("data", "dir", 0o755),
        ("data/.wh.remove-me", "file", (b"", 0o644)),
        ("opaque", "dir", 0o750),
        ("opaque/.wh..wh..opq", "file", (b"", 0o644)),
        ("opaque/new", "file", (b"new\n", 0o644)),
        (".wh.gone-dir", "file", (b"", 0o644)),
        ("etc/config", "file", (b"v2\n", 0o600)),
    ]
    replacing = [
        ("etc", "dir", 0o755),
        ("etc/intact-layer2", "file", (b"whiteouts 2\n", 0o644)),
        ("etc/config", "file", (b"v3\n", 0o640)),
        ("etc/config-link", "hardlink", "etc/config"),
    ]
    with trust_dir() as trust, built_image(
            t, "whiteouts", [base, deleting, replacing]) as image:
        key = trust.key_create("seal")
        manifest_path = trust.manifest_path("whiteouts")
        seal(image, key, manifest_path)
        manifest = manifest_read(manifest_path)

        whiteout = manifest_file(manifest, 1, "data/remove-me")
        if whiteout.get("type") != "whiteout":
            t.fail("manifest layer 1 data/remove-me: expected type "
                   "whiteout, got %r" % whiteout)
        gone_dir = manifest_file(manifest, 1, "gone-dir")
        if gone_dir.get("type") != "whiteout":
            t.fail("manifest layer 1 gone-dir: expected type whiteout, "
                   "got %r" % gone_dir)
        opaque = manifest_file(manifest, 1, "opaque")
        if opaque.get("type") != "dir" or opaque.get("opaque") is not True:
            t.fail("manifest layer 1 opaque: expected an opaque directory, "
                   "got %r" % opaque)
        for entry in manifest["layers"][1]["files"]:
            if ".wh." in entry.get("path", ""):
                t.fail("manifest layer 1: a whiteout file kept its tar "
                       "name: %r" % entry)

        daemon_start(t, trust)
        name = container_start(t, image, "whiteouts")
        event = verdict_wait(t, name)
        check_verified(t, event, name, image, manifest_path, key)

        # containerd unpacked the layers in the overlayfs form.
        deleting_dir = layer_directory(event, 1)
        removed = os.lstat(os.path.join(deleting_dir, "data/remove-me"))
        if not stat.S_ISCHR(removed.st_mode) or removed.st_rdev != 0:
            t.fail("%s/data/remove-me: expected a 0/0 character device, "
                   "got mode %o rdev %d" % (deleting_dir, removed.st_mode,
                                            removed.st_rdev))
        marker = os.getxattr(os.path.join(deleting_dir, "opaque"),
                             "trusted.overlay.opaque")
        if marker != b"y":
            t.fail("%s/opaque: expected trusted.overlay.opaque=y, got %r"
                   % (deleting_dir, marker))

        # The container sees the merged result.
        script = " && ".join([
            "test -e /data/keep",
            "test ! -e /data/remove-me",
            "test ! -e /opaque/old1",
            "test ! -e /opaque/sub",
            "test \"$(cat /opaque/new)\" = new",
            "test ! -e /gone-dir",
            "test \"$(cat /etc/config)\" = v3",
            "test \"$(cat /etc/config-link)\" = v3",
        ])
        result = container_exec(name, script)
        if result.returncode != 0:
            t.fail("the merged root filesystem differs from the layers "
                   "(exit code %d): %s\nstderr: %s"
                   % (result.returncode, script, result.stderr))


@test
def image_without_manifest_unsigned(t):
    with trust_dir() as trust, built_image(t, "unsigned", [
            base_layer("unsigned"),
            [("etc", "dir", 0o755),
             ("etc/intact-upper", "file", (b"unsigned upper\n", 0o644))],
    ]) as image:
        trust.key_create("seal")
        # A manifest outside the trust directory gives the digests to expect.
        reference_key = SigningKey(trust.private, "reference")
        reference_path = os.path.join(trust.private, "reference.json")
        seal(image, reference_key, reference_path)
        digests = [layer["content_digest"]
                   for layer in manifest_read(reference_path)["layers"]]

        daemon_start(t, trust)
        name = container_start(t, image, "unsigned")
        event = verdict_wait(t, name)
        check_verdict_header(t, event, name, "image_unsigned",
                             "VERDICT_UNSIGNED", image)
        t.check_field(event, "image.manifest", "")
        t.check_field(event, "image.key_id", "")
        if len(field(event, "image.layers", [])) != len(digests):
            t.fail("image.layers: expected %d layers" % len(digests), event)
        for i, digest in enumerate(digests):
            check_layer(t, event, i, "", digest, False)


def manifest_sign_raw(key, path):
    """Sign the bytes of path as intactctl does, and write path.sig."""
    signature = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", key.private_path, path],
        capture_output=True, check=True).stdout
    with open(path + ".sig", "w") as f:
        f.write(base64.b64encode(signature).decode() + "\n")


@test
def image_bad_manifests_rejected(t):
    with trust_dir() as trust, built_image(t, "rejected", [
            base_layer("rejected"),
    ]) as image:
        key = trust.key_create("seal")
        stranger = trust.key_create("stranger", trusted=False)

        untrusted = trust.manifest_path("untrusted")
        seal(image, stranger, untrusted)

        truncated = trust.manifest_path("truncated")
        seal(image, key, truncated)
        with open(truncated + ".sig") as f:
            signature = f.read().strip()
        with open(truncated + ".sig", "w") as f:
            f.write(signature[:len(signature) // 2] + "\n")

        # config_digest is outside the file lists, so the edited manifest
        # still parses and only the signature tells.
        edited = trust.manifest_path("edited")
        seal(image, key, edited)
        with open(edited) as f:
            text = f.read()
        match = re.search(r'"config_digest": "sha256:([0-9a-f])', text)
        if not match:
            raise HarnessError("no config_digest in %s:\n%s" % (edited, text))
        flipped = "0" if match.group(1) != "0" else "1"
        text = text[:match.start(1)] + flipped + text[match.end(1):]
        with open(edited, "w") as f:
            f.write(text)

        # Validly signed bytes that are not a manifest.
        unparsable = trust.manifest_path("unparsable")
        with open(unparsable, "w") as f:
            f.write('{"schema_version": 1\n')
        manifest_sign_raw(key, unparsable)

        bad_key = os.path.join(trust.keys, "bad.pem")
        with open(bad_key, "w") as f:
            f.write("-----BEGIN PUBLIC KEY-----\nnot a key\n"
                    "-----END PUBLIC KEY-----\n")

        daemon_start(t, trust)
        cases = [
            (untrusted, r"signed by key %s, which is not trusted"
             % stranger.key_id),
            (truncated, r"invalid signature: .+"),
            (edited, r"the signature does not match: .+"),
            (unparsable, r"invalid manifest \(validly signed\): .+"),
            (bad_key, r".+"),
        ]
        failures = []
        for path, pattern in cases:
            try:
                event = t.wait_event(
                    lambda e: e.get("event") == "status"
                    and field(e, "status.file", None) == path,
                    "status event for " + path)
                t.check_field(event, "status.state", "manifest_rejected")
                t.check_field_matches(event, "status.message", pattern)
            except TestFailure as e:
                failures.append("%s: %s" % (os.path.basename(path), e))
        if failures:
            raise TestFailure("%d of %d rejections failed:\n%s"
                              % (len(failures), len(cases),
                                 "\n".join(failures)))

        name = container_start(t, image, "rejected")
        event = verdict_wait(t, name)
        check_verdict_header(t, event, name, "image_unsigned",
                             "VERDICT_UNSIGNED", image)
        t.check_field(event, "image.manifest", "")


@test
def image_seal_corrupted_blob(t):
    image = TestImage("corrupt")
    try:
        image.build([base_layer("corrupt")])
        key = SigningKey(image.work, "seal")
        blob = image.layer_blobs[0]
        path = image.blob_path(blob)
        with open(path, "rb") as f:
            original = f.read()

        cases = [
            ("one byte changed", original[:len(original) // 2]
             + bytes([original[len(original) // 2] ^ 0x01])
             + original[len(original) // 2 + 1:]),
            ("truncated", original[:len(original) - 100]),
        ]
        failures = []
        for description, data in cases:
            with open(path, "wb") as f:
                f.write(data)
            output = os.path.join(image.work, "manifest.json")
            result = seal(image, key, output, check=False)
            if result.returncode == 0:
                failures.append("%s: intactctl seal exited with 0" %
                                description)
            hex_digest = blob[len("sha256:"):]
            if hex_digest not in result.stderr:
                failures.append("%s: the message does not name the blob "
                                "%s: %r" % (description, hex_digest,
                                            result.stderr))
            for leftover in (output, output + ".sig"):
                if os.path.exists(leftover):
                    failures.append("%s: %s was written"
                                    % (description, leftover))
                    os.unlink(leftover)
        if failures:
            t.fail("%d problems:\n%s" % (len(failures), "\n".join(failures)))
    finally:
        image.remove()


@test
def image_symlink_outside_layer(t):
    links = {
        "etc/evil": "/etc/shadow",
        "etc/up": "../../../../etc/passwd",
        "escape": "/",
        "var-lib": "../../../../../var/lib",
    }
    entries = base_layer("symlink") + [
        (path, "symlink", target) for path, target in links.items()]
    with trust_dir() as trust, built_image(t, "symlink", [entries]) as image:
        key = trust.key_create("seal")
        manifest_path = trust.manifest_path("symlink")
        seal(image, key, manifest_path)
        manifest = manifest_read(manifest_path)
        for path, target in links.items():
            entry = manifest_file(manifest, 0, path)
            if entry.get("type") != "symlink" or \
                    entry.get("target") != target:
                t.fail("manifest %s: expected a symlink to %r, got %r"
                       % (path, target, entry))
        for entry in manifest["layers"][0]["files"]:
            if entry.get("path", "").startswith(("escape/", "var-lib/")):
                t.fail("manifest: a symlink was followed: %r" % entry)

        daemon_start(t, trust)
        name = container_start(t, image, "symlink")
        event = verdict_wait(t, name)
        check_verified(t, event, name, image, manifest_path, key)
