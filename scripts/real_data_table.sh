#!/usr/bin/env bash
# The README's "pre-training pays off" tables, regenerated from a clean clone:
#   scripts/real_data_table.sh [PKU_MMD_V1_DIR] [OUT_DIR]
# 1. prepares the shared PKU-MMD I subset (8 classes with >= 50 clips, x-sub);
# 2. pre-trains `--config cpu_small` (no other flag) for seeds 0 1 2, and evaluates the
#    SEQ and STG query encoders against random init (linear and kNN, same seeds);
# 3. ablations (ABLATIONS=0 skips): no augmentation (seeds 0 1 2) and the paper's
#    augmentations (seeds 0 1), every row; seed 0: a mild temporal crop instead of the
#    shear, intra-skeleton SEQ alone and STG alone (with the paper's augmentations, kNN),
#    inter-skeleton terms only (the paper's loss, kNN), the GRU with xavier init (kNN);
# 4. the synthetic demo data, pre-trained as `skelcon demo` does, seeds 0 1 2, SEQ
#    (ablations: no augmentation, seeds 0 1 2; the paper's augmentations, seeds 0 1).
# Each step is skipped when its results exist, so an interrupted run can be resumed.
# Seeds run one after another (each pre-training uses the whole CPU, so its minutes are
# comparable); the tables land in OUT_DIR/*/table.md.
set -euo pipefail
python -m skelcon.utils.machine 2>/dev/null || true   # the machine the figures below are measured on
case "${1:-}" in -h|--help) sed -n '2,12p' "$0"; exit 0 ;; esac
RAW=${1:-../shared/data/pku_mmd/v1}
OUT=${2:-runs/real}
SK=${SKELCON:-skelcon}
PY=${PYTHON:-python}
HERE="$(cd "$(dirname "$0")" && pwd)"
STUDY="$PY $HERE/pretraining_study.py --quiet"
DEMO_EPOCHS=$($PY -c "from skelcon.demo import DEMO_EPOCHS; print(DEMO_EPOCHS)")

if [ ! -f "$OUT/pku1/meta.json" ]; then
  $SK prepare pku-mmd1 --raw "$RAW/PKU_Skeleton_Renew" --labels "$RAW/Train_Label_PKU_final" \
    --splits "$RAW/Split" --out "$OUT/pku1" --min-instances 50 --workers 2
fi
$STUDY --data "$OUT/pku1" --benchmark xsub --out "$OUT/cpu_small" --seeds 0 1 2

AUG="--set augment.temporal=true --set augment.spatial=random"   # the paper's augmentations
if [ "${ABLATIONS:-1}" != 0 ]; then
  $STUDY --data "$OUT/pku1" --benchmark xsub --out "$OUT/no_aug" --seeds 0 1 2 \
    --set augment.spatial=none --random-from "$OUT/cpu_small"
  $STUDY --data "$OUT/pku1" --benchmark xsub --out "$OUT/with_aug" --seeds 0 1 $AUG \
    --random-from "$OUT/cpu_small"
  $STUDY --data "$OUT/pku1" --benchmark xsub --out "$OUT/temporal_crop" --seeds 0 \
    --set augment.spatial=none --set augment.temporal=true --set augment.l_min=0.5 \
    --random-from "$OUT/cpu_small"
  ABL="$STUDY --data $OUT/pku1 --benchmark xsub --seeds 0 --protocols knn"
  $ABL --out "$OUT/intra_seq" --set representations=[seq] $AUG
  $ABL --out "$OUT/intra_stg" --set representations=[stg] $AUG
  $ABL --out "$OUT/inter_only" --set moco.intra_weight=0
  $ABL --out "$OUT/seq_xavier" --set seq_init=xavier --eval seq
fi

if [ ! -f "$OUT/synthetic/meta.json" ]; then
  $SK prepare synthetic --out "$OUT/synthetic"
fi
$STUDY --data "$OUT/synthetic" --benchmark default --out "$OUT/demo" --seeds 0 1 2 \
  --set epochs="$DEMO_EPOCHS" --eval seq
if [ "${ABLATIONS:-1}" != 0 ]; then
  $STUDY --data "$OUT/synthetic" --benchmark default --out "$OUT/demo_no_aug" --seeds 0 1 2 \
    --set epochs="$DEMO_EPOCHS" --eval seq --set augment.spatial=none --random-from "$OUT/demo"
  $STUDY --data "$OUT/synthetic" --benchmark default --out "$OUT/demo_with_aug" --seeds 0 1 \
    --set epochs="$DEMO_EPOCHS" --eval seq $AUG --random-from "$OUT/demo"
fi

for d in cpu_small no_aug with_aug temporal_crop intra_seq intra_stg inter_only seq_xavier demo \
         demo_no_aug demo_with_aug; do
  if [ -d "$OUT/$d" ]; then echo "## $d"; cat "$OUT/$d/table.md"; echo; fi
done
