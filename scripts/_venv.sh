# Sourced by scripts/dev, scripts/test and .ci/run: a virtualenv in .venv with exactly the
# versions pinned in requirements.lock (reinstalled only when the lock file changes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtual environment in .venv ..."
  "$PYTHON" -m venv .venv
fi
lock_hash="$(sha256sum requirements.lock | cut -d' ' -f1)"
if [ "$(cat .venv/.lock-hash 2>/dev/null || true)" != "$lock_hash" ]; then
  echo "Installing the pinned dependencies (requirements.lock) ..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
  echo "$lock_hash" > .venv/.lock-hash
fi
mkdir -p var
export PATH="$ROOT/.venv/bin:$PATH"
