#!/usr/bin/env bash
# The README's real-data result: the shared PKU-MMD Phase I subset (218 sequences),
# classes with at least 50 instances, cross-subject; inter SEQ+STG pre-training without
# labels (cpu_small recipe), then every protocol and the report.
#   scripts/pku_mmd1_subset.sh [PKU_MMD_V1_DIR] [OUT_DIR] [pretrain args...]
set -euo pipefail
RAW=${1:-../shared/data/pku_mmd/v1}
OUT=${2:-runs/pku1}
shift $(( $# > 2 ? 2 : $# ))
SK=${SKELCON:-skelcon}
if [ ! -f "$OUT/data/meta.json" ]; then
  $SK prepare pku-mmd1 --raw "$RAW/PKU_Skeleton_Renew" --labels "$RAW/Train_Label_PKU_final" \
    --splits "$RAW/Split" --out "$OUT/data" --min-instances 50 --workers 2
fi
"$(dirname "$0")/run_protocols.sh" "$OUT/data" xsub "$OUT/pretrain" "$OUT/eval" "$@"
