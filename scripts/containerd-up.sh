#!/usr/bin/env bash
# Make sure a containerd daemon responds on its default socket.
#
# If `ctr version` already succeeds, do nothing. Otherwise start Debian's
# containerd: through systemd when systemd is the init system, else as a
# detached background process logging to build/containerd.log. Then wait up to
# CONTAINERD_WAIT_SECONDS (default 30) for it to respond.
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
log_file="$repo_root/build/containerd.log"
wait_seconds="${CONTAINERD_WAIT_SECONDS:-30}"

containerd_responds() {
	timeout 5 ctr version >/dev/null 2>&1
}

if containerd_responds; then
	echo "containerd-up: containerd is already running"
	exit 0
fi

if ((EUID != 0)); then
	echo "containerd-up: containerd is not running and starting it requires root" >&2
	exit 1
fi

for tool in containerd ctr runc; do
	if ! command -v "$tool" >/dev/null; then
		echo "containerd-up: $tool not found; run scripts/install-deps.sh test" >&2
		exit 1
	fi
done

if [[ -d /run/systemd/system ]]; then
	echo "containerd-up: starting containerd.service with systemctl"
	systemctl start containerd.service
	log_hint="journalctl -u containerd.service"
else
	mkdir -p "$(dirname "$log_file")"
	# setsid detaches containerd from this shell's session, so it keeps
	# running after the caller (make, CI) exits.
	setsid containerd >>"$log_file" 2>&1 </dev/null &
	echo "containerd-up: started containerd (pid $!), log in $log_file"
	log_hint="$log_file"
fi

for ((second = 0; second < wait_seconds; second++)); do
	if containerd_responds; then
		echo "containerd-up: containerd responds after ${second}s"
		exit 0
	fi
	sleep 1
done

echo "containerd-up: containerd did not respond within ${wait_seconds}s; see $log_hint" >&2
if [[ -f "$log_file" && "$log_hint" == "$log_file" ]]; then
	tail -n 20 "$log_file" >&2
fi
exit 1
