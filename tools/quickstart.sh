#!/usr/bin/env bash
# The README's main command: set up .venv (idempotent), synthesize the built-in audiovisual demo
# data set, train AVSlowFast on it with `mim train` on the CPU, test the best checkpoint with
# `mim test`, and print top-1 per class and overall.
# Environment knobs: DEMO_DATA (default data/avdemo), DEMO_WORK_DIR (default work_dirs/avslowfast_demo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/tools/setup_env.sh"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
DATA="${DEMO_DATA:-data/avdemo}"
WORK="${DEMO_WORK_DIR:-work_dirs/avslowfast_demo}"
CONFIG=configs/avslowfast_demo.py
start=$(date +%s)

echo "[quickstart] 1/4 demo data set -> $DATA"
python tools/make_demo_dataset.py --out "$DATA"

echo "[quickstart] 2/4 mim train mmaction $CONFIG --gpus 0"
rm -rf "$WORK"
train_start=$(date +%s)
mim train mmaction "$CONFIG" --gpus 0 --work-dir "$WORK" --cfg-options "data_root=$DATA"
train_seconds=$(( $(date +%s) - train_start ))

best=$(ls -t "$WORK"/best_*.pth 2>/dev/null | head -n 1 || true)
[ -n "$best" ] || best="$WORK/$(cat "$WORK/last_checkpoint" | xargs basename)"
echo "[quickstart] 3/4 mim test with $best"
mim test mmaction "$CONFIG" --checkpoint "$best" --work-dir "$WORK/test" \
    --dump "$WORK/test/predictions.pkl" --cfg-options "data_root=$DATA"

echo "[quickstart] 4/4 accuracy on the demo val split"
python tools/demo_report.py "$WORK/test/predictions.pkl" --data "$DATA"
echo "[quickstart] training took ${train_seconds} s; everything $(( $(date +%s) - start )) s"
