"""Build the integration test image with umoci and import it into containerd.

The image contains a static busybox with applet symlinks, the static probe
helper and a #! script. It is rebuilt only when its inputs change: the
digest of the inputs is stored as a label on the imported image, so a fresh
containerd store or changed inputs both lead to a rebuild.
"""

import hashlib
import os
import shutil
import struct
import subprocess
import tarfile

IMAGE_NAME = "intact-test"
IMAGE_REF = IMAGE_NAME + ":latest"
NAMESPACE = "k8s.io"
INPUTS_LABEL = "io.intact.test.inputs"

BUSYBOX_HOST_PATH = "/bin/busybox"
BUSYBOX_APPLETS = [
    "sh", "ash", "ls", "cat", "cp", "echo", "sleep", "true", "chmod",
    "mkdir", "ln", "rm",
]
HELLO_SCRIPT = "#!/bin/sh\necho hello\n"
IMAGE_PATH_ENV = "PATH=/usr/local/bin:/usr/bin:/bin"


class ImageError(Exception):
    pass


def _run(argv, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise ImageError(
            "command failed with exit code %d: %s\nstdout: %s\nstderr: %s"
            % (result.returncode, " ".join(argv), result.stdout.strip(),
               result.stderr.strip()))
    return result.stdout


def _elf_has_interpreter(path):
    """Return True if the ELF file at path has a PT_INTERP program header."""
    with open(path, "rb") as f:
        header = f.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:
            raise ImageError("%s is not a 64-bit ELF file" % path)
        phoff, = struct.unpack_from("<Q", header, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, = struct.unpack("<I", f.read(4))
            if p_type == 3:  # PT_INTERP
                return True
    return False


def _check_static(path, hint):
    if not os.path.isfile(path):
        raise ImageError("%s not found. To fix it, %s" % (path, hint))
    if _elf_has_interpreter(path):
        raise ImageError(
            "%s is dynamically linked, but the test image has no libc. "
            "To fix it, %s"
            % (path, hint))


def _inputs_digest(busybox_path, probe_path):
    digest = hashlib.sha256()
    for path in (busybox_path, probe_path, os.path.abspath(__file__)):
        with open(path, "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def _image_list():
    """Return (name, manifest digest, labels) for each image in NAMESPACE."""
    result = subprocess.run(["ctr", "-n", NAMESPACE, "image", "ls"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        return []
    images = []
    for line in result.stdout.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 3:
            continue
        labels = {}
        for label in fields[-1].split(","):
            key, _, value = label.partition("=")
            labels[key] = value
        images.append((fields[0], fields[2], labels))
    return images


def _imported_digest():
    """Return the inputs label of the imported image, or None if absent."""
    for name, _, labels in _image_list():
        if name == IMAGE_REF:
            return labels.get(INPUTS_LABEL)
    return None


def _populate_rootfs(rootfs, busybox_path, probe_path):
    for directory in ("bin", "usr/local/bin", "etc", "proc", "sys", "dev",
                      "run", "root"):
        os.makedirs(os.path.join(rootfs, directory), exist_ok=True)
    tmp = os.path.join(rootfs, "tmp")
    os.makedirs(tmp, exist_ok=True)
    os.chmod(tmp, 0o1777)
    os.chmod(os.path.join(rootfs, "root"), 0o700)

    busybox = os.path.join(rootfs, "bin/busybox")
    shutil.copyfile(busybox_path, busybox)
    os.chmod(busybox, 0o755)
    for applet in BUSYBOX_APPLETS:
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))

    probe = os.path.join(rootfs, "usr/local/bin/probe")
    shutil.copyfile(probe_path, probe)
    os.chmod(probe, 0o755)

    hello = os.path.join(rootfs, "usr/local/bin/hello.sh")
    with open(hello, "w") as f:
        f.write(HELLO_SCRIPT)
    os.chmod(hello, 0o755)

    with open(os.path.join(rootfs, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(rootfs, "etc/group"), "w") as f:
        f.write("root:x:0:\n")


def _build_layout(work_dir, busybox_path, probe_path):
    """Build the OCI layout in work_dir/oci and return the path of its tar."""
    layout = os.path.join(work_dir, "oci")
    bundle = os.path.join(work_dir, "bundle")
    archive = os.path.join(work_dir, IMAGE_NAME + ".tar")
    image = layout + ":latest"

    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    _run(["umoci", "init", "--layout", layout])
    _run(["umoci", "new", "--image", image])
    _run(["umoci", "unpack", "--image", image, bundle])
    _populate_rootfs(os.path.join(bundle, "rootfs"), busybox_path, probe_path)
    _run(["umoci", "repack", "--image", image, bundle])
    _run(["umoci", "config", "--image", image,
          "--config.cmd", "/bin/sh",
          "--config.env", IMAGE_PATH_ENV,
          "--config.workingdir", "/"])
    _run(["umoci", "gc", "--layout", layout])
    shutil.rmtree(bundle)

    with tarfile.open(archive, "w") as tar:
        for entry in sorted(os.listdir(layout)):
            tar.add(os.path.join(layout, entry), arcname=entry)
    return archive


def _import(archive, inputs_digest):
    # containerd's CRI plugin adds a "sha256:CONFIG" name for every image in
    # its namespace. Remove it along with the old image so that rebuilds do
    # not pile up unnamed images.
    images = _image_list()
    old_manifests = {manifest for name, manifest, _ in images
                     if name == IMAGE_REF}
    for name, manifest, _ in images:
        if name == IMAGE_REF or (name.startswith("sha256:")
                                 and manifest in old_manifests):
            _run(["ctr", "-n", NAMESPACE, "image", "rm", name])

    # --base-name names the image after the layout's "latest" tag and stops
    # ctr from adding an "import-DATE:latest" alias.
    _run(["ctr", "-n", NAMESPACE, "image", "import", "--base-name",
          IMAGE_NAME, archive])
    _run(["ctr", "-n", NAMESPACE, "image", "label", IMAGE_REF,
          "%s=%s" % (INPUTS_LABEL, inputs_digest)])


def image_ensure(build_dir, probe_path, log):
    """Build and import the test image unless the imported one is current.

    Raises ImageError with the failing command and its output.
    """
    _check_static(BUSYBOX_HOST_PATH,
                  "install busybox-static (scripts/install-deps.sh test)")
    _check_static(probe_path, "build it with 'make %s'"
                  % os.path.relpath(probe_path))

    digest = _inputs_digest(BUSYBOX_HOST_PATH, probe_path)
    if _imported_digest() == digest:
        log("image %s is current (inputs %s)" % (IMAGE_REF, digest[:12]))
        return

    work_dir = os.path.join(build_dir, "image")
    log("building image %s in %s" % (IMAGE_REF, work_dir))
    archive = _build_layout(work_dir, BUSYBOX_HOST_PATH, probe_path)
    _import(archive, digest)
    log("imported image %s (inputs %s)" % (IMAGE_REF, digest[:12]))

