#!/usr/bin/env bash
# The book's build time as a new user meets it: a fresh clone, an empty rmnb cache, `make book` (virtual
# environment + pip install, model conversion, every chapter, the HTML build), timed end to end; then a second
# `make book` with nothing changed (every chapter from the chapter cache, an incremental HTML build).
#
#   bash benchmarks/fresh_book.sh [OUT.json]      # default OUT: benchmarks/fresh_book.json
#
# pip's own download cache is used as it is on this machine (the install step is timed, not the network); the
# released data come from RMNB_DATA_DIR as in CI. Per-chapter times are in the clone's build logs, copied next to
# OUT (fresh_book.log, not committed).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$repo/benchmarks/fresh_book.json}"
work="$(mktemp -d /tmp/rmnb-fresh-book.XXXXXX)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/rmnb"
mkdir -p "$work/shared"
# ../shared beside the clone, as in CI, so the Makefile finds the released data offline
[ -d "$repo/../shared" ] && ln -s "$(cd "$repo/../shared" && pwd)"/* "$work/shared/"
cd "$work/rmnb"
export RMNB_CACHE_DIR="$work/cache" HF_HUB_OFFLINE=1
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s.%N)
make .venv/.installed-stamp > "$work/install.log" 2>&1
t1=$(date +%s.%N)
make book > "$work/book.log" 2>&1
t2=$(date +%s.%N)
make book > "$work/cached.log" 2>&1
t3=$(date +%s.%N)
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
cat "$work/book.log" "$work/cached.log" > "${out%.json}.log"
python3 - "$out" "$t0" "$t1" "$t2" "$t3" "$load_before" "$load_after" "$(git rev-parse HEAD)" <<'PY'
import json, os, platform, sys
out, t0, t1, t2, t3, before, after, sha = sys.argv[1:]
t0, t1, t2, t3 = map(float, (t0, t1, t2, t3))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
result = {"commit": sha, "install_s": round(t1 - t0, 1), "book_s": round(t2 - t1, 1), "total_s": round(t2 - t0, 1),
          "total_min": round((t2 - t0) / 60, 2), "target_min": 15, "cached_book_s": round(t3 - t2, 1),
          "cached_target_s": 60, "load_before": before, "load_after": after,
          "machine": {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}}
open(out, "w").write(json.dumps(result, indent=1) + "\n")
print(json.dumps(result, indent=1))
PY
