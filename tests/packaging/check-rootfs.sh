#!/usr/bin/env bash
# Build the image tree with packaging/image/build-rootfs.sh into a temporary
# directory and check it: intactd, intactctl and the configuration are
# there, no shell or package manager is, and every ELF file finds each of
# its DT_NEEDED libraries inside the tree.
#
#   tests/packaging/check-rootfs.sh
set -euo pipefail

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
packaging/image/build-rootfs.sh "$root" >/dev/null

failed=0
fail() {
	echo "check-rootfs: $*" >&2
	failed=1
}

for file in usr/sbin/intactd usr/bin/intactctl etc/intact/intactd.yaml; do
	[[ -f "$root/$file" ]] || fail "missing /$file"
done

forbidden='^(sh|bash|dash|ash|zsh|ksh|mksh|csh|tcsh|fish|busybox|toybox|apt|apt-get|dpkg|rpm|dnf|yum|apk|microdnf|python[0-9.]*|perl|env)$'
while read -r file; do
	if [[ "$(basename "$file")" =~ $forbidden ]]; then
		fail "forbidden program in the image: ${file#"$root"}"
	fi
done < <(find "$root" \( -type f -o -type l \))
[[ ! -e "$root/var/lib/dpkg" ]] || fail "dpkg database in the image"

# The loader looks in these directories; the tree must serve every name.
lib_dirs=(lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib lib/aarch64-linux-gnu
	usr/lib/aarch64-linux-gnu)
while read -r file; do
	[[ "$(head -c 4 "$file" | od -An -c | tr -d ' ')" == '177ELF' ]] || continue
	interpreter="$(readelf -l "$file" 2>/dev/null | sed -nE 's/.*Requesting program interpreter: (.*)\]/\1/p')"
	if [[ -n "$interpreter" && ! -e "$root$interpreter" ]]; then
		fail "${file#"$root"}: loader $interpreter missing"
	fi
	while read -r needed; do
		found=0
		for dir in "${lib_dirs[@]}"; do
			[[ -e "$root/$dir/$needed" ]] && found=1 && break
		done
		((found)) || fail "${file#"$root"}: needed library $needed missing"
	done < <(readelf -d "$file" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p')
done < <(find "$root" -type f)

if ((failed)); then
	exit 1
fi
echo "check-rootfs: $(find "$root" -type f | wc -l) files, no shell, no package manager, every needed library present"
