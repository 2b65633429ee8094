#!/usr/bin/env bash
# The README's test command: set up .venv (idempotent) and run the test suite.
# Extra arguments go to pytest, e.g. ./tools/run_tests.sh tests/models -k drop
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/tools/setup_env.sh"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
# With no path among the arguments pytest runs testpaths (tests/, see pyproject.toml).
exec "$ROOT/.venv/bin/python" -m pytest -q "$@"
