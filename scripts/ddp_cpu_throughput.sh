#!/usr/bin/env bash
# One epoch of cpu_small on a prepared dataset: 1 process x 1 thread, torchrun 2 processes x 1
# thread, 1 process x 2 threads; prints each run's samples/s (from metrics.jsonl) and the load.
#   bash scripts/ddp_cpu_throughput.sh runs/demo/data /tmp/ddp-bench
set -euo pipefail
python -m skelcon.utils.machine 2>/dev/null || true   # the machine the figures below are measured on
DATA=${1:?prepared dataset}; OUT=${2:-/tmp/ddp-bench}
ARGS=(--data "$DATA" --config cpu_small --set epochs=1 --set monitor.every=0 --quiet)
for run in one1 two one2; do
  rm -rf "$OUT/$run"
  case $run in
    one1) OMP_NUM_THREADS=1 skelcon pretrain "${ARGS[@]}" --out "$OUT/$run" ;;
    two) OMP_NUM_THREADS=1 torchrun --nproc_per_node=2 -m skelcon pretrain "${ARGS[@]}" --out "$OUT/$run" ;;
    one2) OMP_NUM_THREADS=2 skelcon pretrain "${ARGS[@]}" --out "$OUT/$run" ;;
  esac > /dev/null
  sps=$(python3 -c "import json,sys; print(round([json.loads(l) for l in open(sys.argv[1]) if 'samples_per_s' in l][-1]['samples_per_s'], 1))" "$OUT/$run/metrics.jsonl")
  echo "$run samples/s $sps  load $(cut -d' ' -f1 /proc/loadavg)"
done
