#!/usr/bin/env bash
# Creates .venv and installs diemnong with its development tools; re-runs pip only when
# pyproject.toml changed. Sourced by scripts/demo.sh and scripts/test.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${DIEMNONG_PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "diemnong needs Python >= 3.11 (found: $("$python" --version 2>&1)). Set DIEMNONG_PYTHON." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "== creating virtualenv .venv"
  "$python" -m venv .venv
fi
stamp=.venv/.diemnong-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "== installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi
export PATH="$root/.venv/bin:$PATH"
