#!/usr/bin/env bash
# Create (or reuse) the virtual environment .venv in this checkout, install the pinned stack
# (requirements/stack.txt, one resolve) and this package in editable mode.
# Idempotent: when .venv already holds exactly this stack, nothing is installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON_BIN="${PYTHON:-python3.11}"
command -v "$PYTHON_BIN" >/dev/null 2>&1 || PYTHON_BIN=python3

stack_fingerprint() {
    cat "$ROOT/requirements/stack.txt" "$ROOT/requirements/runtime.txt" \
        "$ROOT/requirements/tests.txt" "$ROOT/setup.py" "$ROOT/pyproject.toml" \
        | sha256sum | cut -d' ' -f1
}

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating virtual environment $VENV with $("$PYTHON_BIN" --version)"
    "$PYTHON_BIN" -m venv "$VENV"
fi

STAMP="$VENV/.mmaction-avslowfast-stack"
WANT="$(stack_fingerprint)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] \
        && "$VENV/bin/python" -c "import mmaction_avslowfast" >/dev/null 2>&1; then
    echo "[setup] $VENV is up to date (pinned stack + mmaction-avslowfast); nothing to install"
    exit 0
fi

echo "[setup] installing the pinned stack into $VENV (first run: several minutes)"
if [ -L "$VENV" ]; then
    # a shared environment: the editable install below re-points it here
    echo "[setup] note: $VENV links to $(readlink -f "$VENV"); installing this checkout" \
         "($ROOT) into it makes every user of that environment import this checkout"
fi
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$ROOT/requirements/stack.txt"
# --no-build-isolation: build with the venv's pinned setuptools instead of fetching another.
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-build-isolation -e "$ROOT"
"$VENV/bin/python" -c "import mmaction_avslowfast, mmaction.models; print('[setup] mmaction_avslowfast', mmaction_avslowfast.__version__, 'ready')"
echo "$WANT" > "$STAMP"
