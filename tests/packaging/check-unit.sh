#!/usr/bin/env bash
# Check the systemd units installed under DESTDIR: `systemd-analyze verify`
# with ExecStart pointing at the installed binary, then print the
# `systemd-analyze security` exposure score and fail when it is above
# MAX_EXPOSURE (default 5.0, on systemd's scale of 0.0 to 10.0).
#
#   tests/packaging/check-unit.sh DESTDIR [PREFIX]
set -euo pipefail

destdir="$1"
prefix="${2:-/usr/local}"
max_exposure="${MAX_EXPOSURE:-5.0}"
unit_dir="$destdir$prefix/lib/systemd/system"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# verify wants ExecStart to exist and Documentation=man: pages to be found.
sed "s|^ExecStart=$prefix/sbin/intactd|ExecStart=$destdir$prefix/sbin/intactd|" \
	"$unit_dir/intactd.service" >"$work/intactd.service"
cp "$unit_dir/intactd.socket" "$work/intactd.socket"
if ! grep -q "^ExecStart=$destdir$prefix/sbin/intactd\$" "$work/intactd.service"; then
	echo "check-unit: ExecStart of the installed unit is not $prefix/sbin/intactd" >&2
	exit 1
fi
MANPATH="$destdir$prefix/share/man" systemd-analyze verify "$work/intactd.service" \
	"$work/intactd.socket"

report="$(systemd-analyze security --offline=true "$work/intactd.service" 2>&1)"
exposure="$(sed -nE 's/.*Overall exposure level for intactd.service: ([0-9.]+).*/\1/p' <<<"$report")"
if [[ -z "$exposure" ]]; then
	echo "check-unit: systemd-analyze security printed no exposure level:" >&2
	echo "$report" >&2
	exit 1
fi
echo "check-unit: exposure level $exposure (at most $max_exposure allowed)"
awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'
