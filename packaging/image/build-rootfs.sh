#!/usr/bin/env bash
# Assemble the file tree of intactd's container image into DIR: intactd,
# intactctl, the shared libraries they load (found with ldd), the dynamic
# loader, and /etc/intact/intactd.yaml. The tree has no shell and no package
# manager; packaging/image/Containerfile copies it into a scratch image.
#
#   packaging/image/build-rootfs.sh DIR [BUILD_DIR]
#
# BUILD_DIR (default build) contains the built intactd and intactctl.
set -euo pipefail

if (($# < 1 || $# > 2)); then
	echo "usage: $0 DIR [BUILD_DIR]" >&2
	exit 2
fi
root="$1"
build="${2:-build}"
source_dir="$(cd "$(dirname "$0")/../.." && pwd)"

for binary in "$build/intactd" "$build/intactctl"; do
	if [[ ! -x "$binary" ]]; then
		echo "build-rootfs: $binary not found: run make first" >&2
		exit 1
	fi
done

mkdir -p "$root/usr/sbin" "$root/usr/bin" "$root/etc/intact/trust" "$root/run/intact" \
	"$root/tmp" "$root/sys" "$root/proc"
install -m 0755 "$build/intactd" "$root/usr/sbin/intactd"
install -m 0755 "$build/intactctl" "$root/usr/bin/intactctl"
install -m 0644 "$source_dir/packaging/intactd.yaml" "$root/etc/intact/intactd.yaml"

# copy_libraries ELF: copy every library ldd resolves for ELF, and the loader,
# to the same path under the root. ldd lines read "name => /path (addr)" or,
# for the loader, "/path (addr)"; vDSO lines have no path.
copy_libraries() {
	local path
	while read -r path; do
		[[ -n "$path" ]] || continue
		mkdir -p "$root$(dirname "$path")"
		# -L: store the file itself under the path the loader opens.
		cp -L "$path" "$root$path"
	done < <(ldd "$1" | awk '/=> \// { print $3; next } /^\t\// { print $1 }')
}

copy_libraries "$build/intactd"
copy_libraries "$build/intactctl"

# glibc resolves user and group names (outputs.socket.group) through NSS;
# the files backend needs these, kept minimal.
printf 'root:x:0:0:root:/:/nonexistent\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files\n' >"$root/etc/nsswitch.conf"
echo "build-rootfs: wrote $(find "$root" -type f | wc -l) files to $root"
