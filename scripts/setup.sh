#!/usr/bin/env bash
# Set up evalkit in ./.venv: torch first (the CPU build where no NVIDIA GPU is found, so that pip
# never pulls a multi-GB CUDA build onto a CPU machine), then evalkit itself.
#   bash scripts/setup.sh          # evalkit and its dependencies
#   bash scripts/setup.sh --test   # the same plus the test extra (pytest)
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
python=${PYTHON:-python3}
torch_version=${EVALKIT_TORCH_VERSION:-2.13.0}

[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)

if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1; then
    "${pip[@]}" "torch>=2.4,<3"
  elif ! "${pip[@]}" "torch==${torch_version}+cpu" 2>/dev/null; then
    # No CPU wheel on this machine's indexes: take it from PyTorch's CPU index.
    "${pip[@]}" "torch==${torch_version}+cpu" --extra-index-url https://download.pytorch.org/whl/cpu
  fi
fi
"${pip[@]}" -e ".${extras}"
echo "evalkit installed in .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
