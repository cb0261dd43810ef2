#!/usr/bin/env bash
# Set up evalkit in a virtual environment (./.venv): torch first (the CPU build where no NVIDIA GPU is
# found, so that pip never pulls a multi-GB CUDA build onto a CPU machine), then evalkit itself.
#
#   bash scripts/setup.sh              # the tested set: every package at its version in constraints/cpu.txt
#   bash scripts/setup.sh --test       # the same plus the test extra (pytest)
#   bash scripts/setup.sh --latest     # instead the newest releases pyproject.toml's ranges allow
#   bash scripts/setup.sh --venv DIR   # another environment folder (default .venv)
#
# Options combine. EVALKIT_TORCH_VERSION overrides the torch version (default: the lock's). Run again
# with other options to move an existing environment to the lock or to the newest releases.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="" latest="" venv=".venv"
while [ $# -gt 0 ]; do
  case "$1" in
    --test) extras="[test]" ;;
    --latest) latest=1 ;;
    --venv) venv="${2:?--venv needs a folder}"; shift ;;
    *) echo "setup.sh: unknown option $1 (known: --test, --latest, --venv DIR)" >&2; exit 2 ;;
  esac
  shift
done

lock=constraints/cpu.txt
python=${PYTHON:-python3}
locked_torch=$(sed -n 's/^torch==\([0-9.]*\).*/\1/p' "$lock")
torch_version=${EVALKIT_TORCH_VERSION:-$locked_torch}

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)

if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1; then
    "${pip[@]}" "torch==${torch_version}"  # PyPI's default build carries CUDA
  elif [ "$(uname -s)" = Darwin ]; then
    "${pip[@]}" "torch==${torch_version}"  # macOS builds have no CUDA to leave out
  elif ! "${pip[@]}" "torch==${torch_version}+cpu" 2>/dev/null; then
    # No CPU wheel on this machine's indexes: take it from PyTorch's CPU index.
    "${pip[@]}" "torch==${torch_version}+cpu" --extra-index-url https://download.pytorch.org/whl/cpu
  fi
fi

# The installed torch build (CPU or CUDA) stays in either case.
constraints="$venv/evalkit-constraints.txt"
echo "torch==$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("torch"))')" > "$constraints"
if [ -n "$latest" ]; then
  "${pip[@]}" --upgrade --upgrade-strategy eager -e ".${extras}" -c "$constraints"
  what="the newest releases in pyproject.toml's ranges"
else
  grep -v '^torch==' "$lock" >> "$constraints"
  "${pip[@]}" -e ".${extras}" -c "$constraints"
  what="the tested set in $lock"
fi
echo "evalkit installed in $venv with $what ($("$venv/bin/python" -c \
  'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
