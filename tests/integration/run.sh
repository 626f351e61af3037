#!/usr/bin/env bash
# Run the integration tests as root: tests/integration/run.sh [TEST_NAME...]
# The last line is "integration: N passed, N failed". The exit code is
# non-zero when a test or the setup failed.
set -euo pipefail
# Debian's interpreter: python3-protobuf is installed for it, not for any other python3 on PATH.
exec /usr/bin/python3 -B -u "$(dirname "$0")/run.py" "$@"
