#!/usr/bin/env bash
# The held-out table of docs/pretraining.md (section 6), from a clean clone:
#   scripts/held_out_table.sh [OUT_DIR]          (default runs/held)
# 1. prepares every set: the sets that chose the recipe (the shared PKU-MMD I subset in
#    3D, its pose-estimator-like 2D projection, 100- and 430-clip training splits of them)
#    and the sets that judge it (the shared NTU-120 sample in 3D and in the colour
#    camera's 2D pixels, cross-subject; UTKinect-Action3D when UTK=DIR names its
#    `joints` folder, see scripts/utkinect_to_folder.py);
# 2. pre-trains `--config cpu_small` (no other flag) and evaluates SEQ and STG, linear
#    and kNN, against random init: judging sets with seeds $SEEDS (default 0 1 2),
#    choosing sets with seed 0.
# Every step is skipped when its results exist, so an interrupted run resumes.
set -euo pipefail
python -m skelcon.utils.machine 2>/dev/null || true   # the machine the figures below are measured on
case "${1:-}" in -h|--help) sed -n '2,12p' "$0"; exit 0 ;; esac
OUT=${1:-runs/held}
SHARED=${SKELCON_SHARED_DATA:-../shared/data}
SEEDS=${SEEDS:-0 1 2}
SK=${SKELCON:-skelcon}
PY=${PYTHON:-python}
HERE="$(cd "$(dirname "$0")" && pwd)"
STUDY="$PY $HERE/pretraining_study.py --quiet"
PKU=$SHARED/pku_mmd/v1
NTU=$SHARED/ntu/nturgbd_skeletons_s018_to_s032.zip
mkdir -p "$OUT"

[ -f "$OUT/pku1/meta.json" ] || $SK prepare pku-mmd1 --raw "$PKU/PKU_Skeleton_Renew" \
  --labels "$PKU/Train_Label_PKU_final" --splits "$PKU/Split" --out "$OUT/pku1" --min-instances 50
if [ ! -f "$OUT/pku1_2d/meta.json" ]; then
  rm -rf "$OUT/pku1_2d_raw"
  $PY "$HERE/project_2d.py" --pku "$PKU" --prepared "$OUT/pku1" --out "$OUT/pku1_2d_raw"
  $SK prepare folder --raw "$OUT/pku1_2d_raw" --layout ntu25 --channels x,y --normalize --out "$OUT/pku1_2d"
fi
[ -d "$OUT/pku1_small100" ] || $PY "$HERE/subsample_split.py" "$OUT/pku1" --benchmark xsub \
  --n 100 --stratified --name small100 --out "$OUT/pku1_small100"
[ -d "$OUT/pku1_2d_small430" ] || $PY "$HERE/subsample_split.py" "$OUT/pku1_2d" \
  --benchmark default --n 430 --stratified --name small430 --out "$OUT/pku1_2d_small430"
[ -f "$OUT/ntu120/meta.json" ] || $SK prepare ntu120 --raw "$NTU" --out "$OUT/ntu120"
[ -f "$OUT/ntu120_2d/meta.json" ] || $SK prepare ntu120 --raw "$NTU" --coords color2d --out "$OUT/ntu120_2d"
if [ -n "${UTK:-}" ] && [ ! -f "$OUT/utkinect/meta.json" ]; then
  rm -rf "$OUT/utkinect_raw"
  $PY "$HERE/utkinect_to_folder.py" "$UTK" --out "$OUT/utkinect_raw"
  $SK prepare folder --raw "$OUT/utkinect_raw" --layout kinect20 --normalize --dataset utkinect \
    --out "$OUT/utkinect"
fi

R=$OUT/results
# the sets that judge the recipe (never used to choose it): every seed
$STUDY --data "$OUT/ntu120" --benchmark xsub --out "$R/ntu120" --seeds $SEEDS
$STUDY --data "$OUT/ntu120_2d" --benchmark xsub --out "$R/ntu120_2d" --seeds $SEEDS
if [ -f "$OUT/utkinect/meta.json" ]; then
  $STUDY --data "$OUT/utkinect" --benchmark default --out "$R/utkinect" --seeds $SEEDS
fi
# the sets that chose it: seed 0
$STUDY --data "$OUT/pku1_2d" --benchmark default --out "$R/pku1_2d" --seeds 0
$STUDY --data "$OUT/pku1_2d_small430" --benchmark small430 --out "$R/pku1_2d_small430" --seeds 0
$STUDY --data "$OUT/pku1_small100" --benchmark small100 --out "$R/pku1_small100" --seeds 0
$PY "$HERE/held_out_summary.py" "$R"/*/
