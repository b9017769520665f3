#!/usr/bin/env bash
# Every downstream protocol of the paper (Section 4.3) on one prepared dataset, from one pre-training run,
# then the report. Usage:
#   scripts/run_protocols.sh DATA BENCHMARK RUN_DIR EVAL_DIR [pretrain args...]
# Pre-trains (inter SEQ+STG, cpu_small recipe unless CONFIG or args say otherwise) if RUN_DIR
# has no last.pt, then: linear and kNN (pre-trained and random init; SEQ, STG and SEQ+STG),
# semi-supervised and supervised-only (SEMI_FRACTIONS, SEMI_REPEATS, SEMI_EPOCHS),
# fine-tuning with all labels, and writes EVAL_DIR/report.md.
set -euo pipefail
DATA=$1; BENCH=$2; RUN=$3; EVAL=$4; shift 4
SK=${SKELCON:-skelcon}
DEVICE=${DEVICE:-auto}
FRACTIONS=${SEMI_FRACTIONS:-0.01,0.1}
REPEATS=${SEMI_REPEATS:-3}
EPOCHS=${SEMI_EPOCHS:-50}
FT_EPOCHS=${FT_EPOCHS:-$EPOCHS}
common=(--data "$DATA" --benchmark "$BENCH" --device "$DEVICE" --quiet)

if [ ! -f "$RUN/last.pt" ]; then
  $SK pretrain "${common[@]}" --config "${CONFIG:-cpu_small}" --out "$RUN" "$@"
fi
# SEQ: the linear protocol as specified (fresh random crops every epoch). STG and SEQ+STG
# (the graph encoder is ~10x costlier per sample on a CPU): linear on cached centre-crop
# features (train_crop=center, recorded in metrics.json), and kNN.
for rep in seq stg seq+stg; do
  extra=()
  [ "$rep" != seq ] && extra=(--set train_crop=center)
  for init in pretrained random; do
    flag=(); suffix=""
    [ $init = random ] && flag=(--random-init) && suffix="-random"
    $SK eval linear --checkpoint "$RUN" --representation $rep "${common[@]}" \
      --out "$EVAL/linear-$rep$suffix" "${flag[@]}" "${extra[@]}"
    $SK eval knn --checkpoint "$RUN" --representation $rep "${common[@]}" \
      --out "$EVAL/knn-$rep$suffix" "${flag[@]}"
  done
done
$SK eval semi --checkpoint "$RUN" --representation seq "${common[@]}" --out "$EVAL/semi-seq" \
  --fractions "$FRACTIONS" --repeats "$REPEATS" --epochs "$EPOCHS"
$SK eval supervised --checkpoint "$RUN" --representation seq "${common[@]}" --out "$EVAL/supervised-seq" \
  --fractions "$FRACTIONS" --repeats "$REPEATS" --epochs "$EPOCHS"
$SK eval finetune --checkpoint "$RUN" --representation seq "${common[@]}" --out "$EVAL/finetune-seq" \
  --epochs "$FT_EPOCHS"
$SK report "$RUN" "$EVAL" --out "$EVAL/report.md"
echo "report: $EVAL/report.md"
