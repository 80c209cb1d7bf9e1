#!/usr/bin/env bash
# The prepared GPU check: one command, at most 8 minutes on one CUDA GPU, JSON on stdout (and in
# gpu_check.json, or $1). Without CUDA it prints {"ok": false, "error": ...} and exits 2. See benchmarks/README.md.
#
#   bash benchmarks/gpu_check.sh [results.json]
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
if [ -z "${RMNB_DATA_DIR:-}" ] && [ -d ../shared/data ]; then export RMNB_DATA_DIR="$(cd ../shared/data && pwd)"; fi
# 480 s in all; each step has its own, shorter limit inside gpu_check.py
timeout --kill-after=10 480 "$PY" benchmarks/gpu_check.py --json "${1:-gpu_check.json}"
rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo '{"ok": false, "error": "the GPU check ran past its 8 minutes"}'
fi
exit "$rc"
