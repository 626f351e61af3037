#!/usr/bin/env bash
# Run the unit tests, the integration tests and the packaging checks, and add
# up their counts.
#
# Each stage must end its output with "STAGE: N passed, N failed". The last
# line printed here is "N passed, N failed" for all stages together. The exit
# code is non-zero when a test failed, or when a stage crashed: it printed no
# summary line, or exited non-zero without counting a failure. A crashed stage
# counts as one failure, so the last line never reads "0 failed" for a failed
# run.
set -uo pipefail
cd "$(dirname "$0")/.."

total_passed=0
total_failed=0
crashed=0
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir"' EXIT

# run_stage NAME COMMAND...: run a stage, echo its output, add its counts.
run_stage() {
	local name="$1" log="$log_dir/$1.log" status summary passed failed
	shift

	"$@" 2>&1 | tee "$log"
	status="${PIPESTATUS[0]}"

	summary="$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed$" "$log" | tail -n 1)"
	if [[ -z "$summary" ]]; then
		echo "run-all: the $name stage exited with code $status and printed no" \
			"'$name: N passed, N failed' line" >&2
		crashed=1
		total_failed=$((total_failed + 1))
		return
	fi

	passed="$(sed -E 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed$/\1/' <<<"$summary")"
	failed="$(sed -E 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed$/\2/' <<<"$summary")"
	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))

	if ((status != 0 && failed == 0)); then
		echo "run-all: the $name stage exited with code $status but counted" \
			"no failure" >&2
		crashed=1
		total_failed=$((total_failed + 1))
	fi
}

shopt -s nullglob
unit_tests=(build/tests/test_*)
shopt -u nullglob

if [[ -x tests/run-unit.sh ]]; then
	run_stage unit tests/run-unit.sh "${unit_tests[@]}"
else
	echo "run-all: tests/run-unit.sh not found or not executable" >&2
	crashed=1
	total_failed=$((total_failed + 1))
fi

if [[ -x tests/integration/run.sh ]]; then
	run_stage integration tests/integration/run.sh
else
	echo "run-all: tests/integration/run.sh not found or not executable" >&2
	crashed=1
	total_failed=$((total_failed + 1))
fi

if [[ -x tests/packaging/run.sh ]]; then
	run_stage packaging tests/packaging/run.sh
else
	echo "run-all: tests/packaging/run.sh not found or not executable" >&2
	crashed=1
	total_failed=$((total_failed + 1))
fi

echo "$total_passed passed, $total_failed failed"
if ((total_failed > 0 || crashed)); then
	exit 1
fi
exit 0
