#!/usr/bin/env bash
# Install everything the test suite needs (Python deps in .venv, Debian's chromium for the
# browser tests) and run it. This is the README's test command and what .ci/run calls.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv || { echo "test.sh: cannot create .venv" >&2; exit 1; }
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[all]' \
    || { echo "test.sh: pip install failed" >&2; exit 1; }
if ! command -v chromium >/dev/null 2>&1; then
    echo "test.sh: installing Debian's chromium for the browser tests" >&2
    SUDO=""; [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        chromium chromium-driver >/dev/null; } \
        || echo "test.sh: could not install chromium; browser tests will fail" >&2
fi
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" = 5 ]; then
    echo "test.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
