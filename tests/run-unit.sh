#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Run unit test binaries and total their results.
#
#   tests/run-unit.sh build/tests/test_a build/tests/test_b ...
#
# Each binary ends its output with "N passed, N failed". A binary that
# crashes, exits non-zero with no failures counted, or prints no such line
# counts as one failed test. The last line is the total,
# "unit: N passed, N failed". Exits 1 if anything failed.

set -u

if [ "$#" -eq 0 ]; then
	echo "usage: $0 TEST_BINARY..." >&2
	exit 2
fi

output=$(mktemp) || exit 1
trap 'rm -f "$output"' EXIT

total_passed=0
total_failed=0

for binary in "$@"; do
	name=$(basename "$binary")
	"$binary" >"$output" 2>&1
	status=$?
	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s: %s\n' "$name" "$line"
	done <"$output"

	summary=$(tail -n 1 "$output")
	if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		passed=${BASH_REMATCH[1]}
		failed=${BASH_REMATCH[2]}
	else
		passed=0
		failed=0
		if [ "$status" -le 128 ]; then
			echo "$name: printed no \"N passed, N failed\" summary"
			failed=1
		fi
	fi

	if [ "$status" -gt 128 ]; then
		echo "$name: crashed with signal $((status - 128))"
		failed=$((failed + 1))
	elif [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		echo "$name: exited with status $status but reported no failed test"
		failed=1
	elif [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
		echo "$name: ran no tests"
		failed=1
	fi

	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))
done

echo "unit: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
