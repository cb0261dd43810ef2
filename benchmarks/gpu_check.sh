#!/usr/bin/env bash
# Every speed figure that needs a GPU, in one run (about 6 minutes on one H100/H200; each step is
# capped so that the whole stays under 8):
#   1. the IDEFICS-9B-shaped random model in bfloat16 on 8-shot VQAv2: queries per second (naive loop,
#      evalkit without and with the vision cache) and model FLOPs utilisation;
#   2. ImageNet scoring at 16 shots, 998 classes: evalkit against OpenFlamingo's and m4's methods,
#      seconds and counted FLOPs per query (OpenFlamingo over all 998 class forwards, no scaling);
#   3. batch-size invariance in bfloat16: how far answers and choice scores move between batch 1 and
#      16, on the embedded trained model and on the 9B-shaped one.
# Run from anywhere; PYTHON picks the interpreter (default: the checkout's .venv). Output: stdout,
# and a copy in $OUT/gpu_check.txt when OUT is set. Needs about 40 GB of GPU memory (two copies of
# the 9B-shaped weights: evalkit's and the untouched reference).
#
#     bash benchmarks/gpu_check.sh
#     PEAK_TFLOPS=989 bash benchmarks/gpu_check.sh     # dense bf16 peak for the MFU line (H100/H200 SXM)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
PEAK_TFLOPS=${PEAK_TFLOPS:-989}
LOG=${OUT:+$OUT/gpu_check.txt}
LOG=${LOG:-/dev/null}
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false

step() {  # step SECONDS TITLE COMMAND...: one benchmark, its output kept, a timeout not fatal
    local limit=$1 title=$2
    shift 2
    echo "== $title ($(date -u +%H:%M:%S), limit ${limit}s)" | tee -a "$LOG"
    timeout "$limit" "$PYTHON" "$@" 2>&1 | grep -v -e "Loading weights" -e "Writing model shards" | tee -a "$LOG" \
        || echo "!! $title: stopped (exit ${PIPESTATUS[0]})" | tee -a "$LOG"
}

"$PYTHON" - <<'EOF' | tee -a "$LOG"
import os, torch
if not torch.cuda.is_available():
    raise SystemExit("gpu_check.sh: no GPU visible; it measures GPU figures only")
print(f"GPU {torch.cuda.get_device_name()}, torch {torch.__version__}, load {os.getloadavg()[0]:.1f}")
EOF

step 170 "9B-shaped IDEFICS, bf16, 8-shot VQAv2: queries/s and MFU" \
    benchmarks/throughput.py --models 9b --dtype bfloat16 --shots 8 --queries 64 --batch-size 16 --workers 4 \
    --peak-tflops "$PEAK_TFLOPS"
step 170 "ImageNet scoring at 16 shots, 998 classes, bf16: evalkit vs OpenFlamingo vs m4" \
    benchmarks/classification_scoring.py --models 9b --dtype bfloat16 --shots 16 --of-classes 998 --m4-forwards 8
step 120 "batch-size invariance in bf16: batch 1 against 16" \
    benchmarks/batch_invariance.py --models tiny,9b --dtype bfloat16 --queries 32 --classes 100
echo "== done $(date -u +%H:%M:%S)" | tee -a "$LOG"
