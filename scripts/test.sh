#!/usr/bin/env bash
# Runs every check of diemnong on a fresh machine: installs what is missing (virtualenv, Python
# packages, the engine's jars via Maven), runs ruff and mypy, starts the embedded engine, runs
# pytest against it, and stops the engine whatever happens. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/bootstrap.sh"
cd "$root"

# System packages the tests need, from Debian's archive: Maven and a JDK for the engines,
# Chromium for the browser tests (Playwright drives it; it never downloads a browser).
missing=()
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} from Debian's packages"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" > /dev/null
fi

echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy

export DIEMNONG_DATA_DIR="$root/.diemnong/test-engine"
echo "== starting the embedded engine (data in $DIEMNONG_DATA_DIR)"
diemnong engine stop > /dev/null 2>&1 || true
trap 'echo "== stopping the engine"; diemnong engine stop || true' EXIT
DIEMNONG_TEST_ENGINE_URL="$(diemnong engine start | tail -n 1)"
export DIEMNONG_TEST_ENGINE_URL
echo "engine at $DIEMNONG_TEST_ENGINE_URL"

echo "== pytest"
pytest -p no:cacheprovider -ra "$@"
