#!/usr/bin/env python3
"""Run the integration tests, or only those whose function names are given."""

import sys

import harness
import test_exec  # noqa: F401 (registers the tests)
import test_file  # noqa: F401
import test_stream  # noqa: F401
import test_service  # noqa: F401
import test_image  # noqa: F401


def main():
    try:
        passed, failed = harness.main(sys.argv[1:])
    except KeyboardInterrupt:
        print("integration: interrupted", file=sys.stderr)
        return 130
    print("integration: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
