#!/usr/bin/env bash
# The README's main command: set up .venv (idempotent), synthesize the built-in audiovisual demo
# data set (data/avdemo), train AVSlowFast on it with `mim train ... --gpus 0` (CPU), test the
# checkpoint that was best on the val split with `mim test` on the held-out test split, do the same
# for the visual-only ablation (audio input zeroed: model.blank_modalities=audios), print
# top-1 per class and overall for both, and finally use the audiovisual model on one test video
# with tools/demo.py (top-5 classes audiovisual / audio silenced / frames blanked, and the
# picture work_dirs/demo/left_low_0000.png). It writes only under data/ and
# work_dirs/ (both git-ignored): the checkout stays clean.
# Set SKIP_VISUAL_ONLY=1 to train only the audiovisual model.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/tools/setup_env.sh"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
DATA=data/avdemo            # the path configs/avslowfast_demo.py reads
CONFIG=configs/avslowfast_demo.py
start=$(date +%s)

echo "[quickstart] demo data set -> $DATA"
python tools/make_demo_dataset.py --out "$DATA"

# train_and_test NAME [extra --cfg-options...]: writes work_dirs/NAME/test.pkl
train_and_test() {
    local name="$1"; shift
    local work="work_dirs/$name"
    rm -rf "$work"
    echo "[quickstart] mim train mmaction $CONFIG --gpus 0 --work-dir $work $*"
    local t0; t0=$(date +%s)
    mim train mmaction "$CONFIG" --gpus 0 --work-dir "$work" "$@"
    echo "[quickstart] $name: training took $(( $(date +%s) - t0 )) s"
    local best; best=$(ls -t "$work"/best_*.pth | head -n 1)
    echo "[quickstart] mim test mmaction $CONFIG --checkpoint $best"
    mim test mmaction "$CONFIG" --gpus 0 --checkpoint "$best" --work-dir "$work" \
        --dump "$work/test.pkl" "$@"
}

train_and_test avslowfast_demo
dumps=(work_dirs/avslowfast_demo/test.pkl)
names=(audiovisual)
if [ "${SKIP_VISUAL_ONLY:-0}" != 1 ]; then
    train_and_test avslowfast_demo_visual_only --cfg-options model.blank_modalities=audios
    dumps+=(work_dirs/avslowfast_demo_visual_only/test.pkl)
    names+=(visual-only)
fi

echo "[quickstart] top-1 on the demo test split (checkpoint picked on the val split)"
python tools/demo_report.py "${dumps[@]}" --names "${names[@]}" --data "$DATA"

best=$(ls -t work_dirs/avslowfast_demo/best_*.pth | head -n 1)
video="$DATA/videos_test/left_low/left_low_0000.mp4"
echo "[quickstart] python tools/demo.py $video $CONFIG $best" \
     "--label-map $DATA/label_map.txt --out work_dirs/demo/left_low_0000.png"
python tools/demo.py "$video" "$CONFIG" "$best" --label-map "$DATA/label_map.txt" \
    --out work_dirs/demo/left_low_0000.png
echo "[quickstart] done in $(( $(date +%s) - start )) s"
