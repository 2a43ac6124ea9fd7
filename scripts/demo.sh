#!/usr/bin/env bash
# The main job on a fresh machine: installs diemnong into .venv, then runs `diemnong demo`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/bootstrap.sh"
cd "$root"
exec diemnong demo "$@"
