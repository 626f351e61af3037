#!/usr/bin/env bash
# Install the Debian 12 packages that intact needs, only those still missing.
#
#   scripts/install-deps.sh build   compilers, BPF tools and libraries
#   scripts/install-deps.sh test    build packages plus containerd, runc, umoci,
#                                   busybox-static, python3, python3-protobuf, jq,
#                                   clang-format, openssl, prometheus (promtool),
#                                   systemd, groff-base, man-db, nodejs and npm
#   scripts/install-deps.sh bench  test packages plus auditd, redis-server and
#                                   redis-tools for make bench
#
# Runs apt-get only when dpkg-query reports a package as not installed, so a
# second run changes nothing and works without root.
set -euo pipefail

build_packages=(
	clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libssl-dev
	libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev
	libsystemd-dev libjansson-dev
	libyaml-dev libmicrohttpd-dev libcap-dev
	libarchive-dev
	pkg-config make gcc libc6-dev
)
test_packages=(containerd runc umoci busybox-static python3 python3-protobuf jq clang-format openssl)
# promtool (in prometheus) checks the metrics exposition; systemd-analyze,
# groff and man check the units and man pages; node runs the Kubernetes
# manifest validator.
test_packages+=(prometheus systemd groff-base man-db)
# Debian's npm package conflicts with NodeSource's nodejs, which bundles npm:
# add Debian's nodejs and npm only when no node is installed.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	test_packages+=(nodejs npm)
fi

# make bench compares intactd with auditd and times redis-benchmark against
# a redis-server on the loopback interface.
bench_packages=(auditd redis-server redis-tools)

usage() {
	echo "usage: $0 [build|test|bench]" >&2
	exit 2
}

set_name="${1:-build}"
case "$set_name" in
build) packages=("${build_packages[@]}") ;;
test) packages=("${build_packages[@]}" "${test_packages[@]}") ;;
bench) packages=("${build_packages[@]}" "${test_packages[@]}" "${bench_packages[@]}") ;;
*) usage ;;
esac

missing=()
for package in "${packages[@]}"; do
	status="$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)"
	if [[ "$status" != "install ok installed" ]]; then
		missing+=("$package")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#packages[@]} $set_name packages are installed"
	exit 0
fi

if ((EUID != 0)); then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run this script as root, or install them with:" >&2
	echo "  sudo apt-get install --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
