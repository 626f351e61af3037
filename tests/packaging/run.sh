#!/usr/bin/env bash
# The packaging stage: systemd units, install layout, man pages, Kubernetes
# manifests and the image tree. Needs build/intactd and build/intactctl
# (make all), systemd-analyze, groff, node and npm. The last line is
# "packaging: N passed, N failed"; exits 1 when a check failed.
#
#   tests/packaging/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

passed=0
failed=0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# check NAME COMMAND...: run one check and count it.
check() {
	local name="$1"
	shift
	if "$@" >"$work/log" 2>&1; then
		echo "ok $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		sed 's/^/  /' "$work/log"
		failed=$((failed + 1))
	fi
	# Show the measured exposure level even when the check passed.
	grep -h '^check-unit: exposure' "$work/log" || true
}

destdir="$work/destdir"

install_layout() {
	make --no-print-directory install DESTDIR="$destdir" >/dev/null || return 1
	local expected=(
		usr/local/sbin/intactd usr/local/bin/intactctl
		usr/local/lib/systemd/system/intactd.service
		usr/local/lib/systemd/system/intactd.socket
		usr/local/share/man/man8/intactd.8 usr/local/share/man/man1/intactctl.1
		etc/intact/intactd.yaml
	)
	for file in "${expected[@]}"; do
		[[ -f "$destdir/$file" ]] || { echo "missing $file"; return 1; }
	done
	[[ -x "$destdir/usr/local/sbin/intactd" ]] || { echo "intactd not executable"; return 1; }
	grep -qx 'ExecStart=/usr/local/sbin/intactd' \
		"$destdir/usr/local/lib/systemd/system/intactd.service" || {
		echo "ExecStart not rewritten"
		return 1
	}
	cmp packaging/intactd.yaml "$destdir/etc/intact/intactd.yaml"
}

install_prefix_and_kept_config() {
	local dir="$work/prefix"
	mkdir -p "$dir/etc/intact"
	echo "log: {level: debug}" >"$dir/etc/intact/intactd.yaml"
	make --no-print-directory install DESTDIR="$dir" PREFIX=/usr >/dev/null || return 1
	grep -qx 'ExecStart=/usr/sbin/intactd' "$dir/usr/lib/systemd/system/intactd.service" ||
		{ echo "ExecStart not rewritten to PREFIX=/usr"; return 1; }
	grep -qx 'log: {level: debug}' "$dir/etc/intact/intactd.yaml" ||
		{ echo "an existing configuration was replaced"; return 1; }
}

man_pages_lint() {
	local page out
	for page in docs/man/intactd.8 docs/man/intactctl.1; do
		out="$(groff -man -z -ww "$page" 2>&1)"
		[[ -z "$out" ]] || { echo "$page: $out"; return 1; }
		out="$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)"
		[[ -z "$out" ]] || { echo "$page: $out"; return 1; }
	done
}

npm_prefix="$PWD/build/npm"
k8s_models_install() {
	[[ -d "$npm_prefix/node_modules/kubernetes-models" && -d "$npm_prefix/node_modules/yaml" ]] &&
		return 0
	mkdir -p "$npm_prefix"
	npm install --no-audit --no-fund --prefix "$npm_prefix" kubernetes-models@4 yaml@2
}

k8s_validate() {
	NPM_PREFIX="$npm_prefix" node tests/packaging/validate-k8s.mjs \
		packaging/kubernetes/namespace.yaml packaging/kubernetes/serviceaccount.yaml \
		packaging/kubernetes/configmap.yaml packaging/kubernetes/trust-secret.yaml \
		packaging/kubernetes/daemonset.yaml
}

# The validator must reject a manifest with a wrong type, or the check above proves nothing.
k8s_validate_rejects_bad() {
	sed 's/hostPID: true/hostPID: "yes"/' packaging/kubernetes/daemonset.yaml >"$work/bad.yaml"
	! NPM_PREFIX="$npm_prefix" node tests/packaging/validate-k8s.mjs "$work/bad.yaml"
}

# Every resource kustomization.yaml lists exists, and every manifest is listed.
k8s_kustomization_complete() {
	local file listed
	listed="$(sed -nE 's/^  - ([a-z-]+\.yaml)$/\1/p' packaging/kubernetes/kustomization.yaml)"
	for file in $listed; do
		[[ -f "packaging/kubernetes/$file" ]] || { echo "listed but missing: $file"; return 1; }
	done
	for file in packaging/kubernetes/*.yaml; do
		file="$(basename "$file")"
		[[ "$file" == kustomization.yaml ]] && continue
		grep -qx "$file" <<<"$listed" || { echo "not listed: $file"; return 1; }
	done
}

check "install layout" install_layout
check "install PREFIX and kept configuration" install_prefix_and_kept_config
check "systemd units verify and exposure" tests/packaging/check-unit.sh "$destdir"
check "man pages lint" man_pages_lint
check "kubernetes-models installed" k8s_models_install
check "kubernetes manifests validate" k8s_validate
check "kubernetes validator rejects bad" k8s_validate_rejects_bad
check "kustomization lists manifests" k8s_kustomization_complete
check "image tree has no shell" tests/packaging/check-rootfs.sh

echo "packaging: $passed passed, $failed failed"
((failed == 0))
