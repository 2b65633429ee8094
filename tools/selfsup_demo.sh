#!/usr/bin/env bash
# Self-supervised AVS demo (issue 12): set up .venv (idempotent), synthesize a world in which
# sound and picture are causally linked in time (tools/make_selfsup_world.py -> data/selfsup:
# 4 coloured objects moving in their own lanes; whenever one flashes white (4 frames = 0.25 s)
# it beeps in its colour's pitch), pre-train the small CPU AVSlowFast with AVS only (no labels) with
# `mim train`, test its audiovisual synchronisation on held-out videos with `mim test`
# (avs/sync_acc_easy / _hard / avs/sync_acc), then train the same visual-only linear probe
# (frozen backbone, BN statistics recomputed on the probe's training data, same budget) on
# the pre-trained backbone and on a randomly initialised one, test both, and print the table
# (tools/selfsup_report.py) and the wall time.
#
# The probe sees the frames of 1 s clips (16 frames, 32x32) in which one object flashes once;
# its label is when: the quarter of the clip that holds the flash (4 classes, chance 25 %).
#
# Runs on CPU (2 cores: about 10 min idle after the .venv set-up). OMP_NUM_THREADS=1 (default here): the trainer's
# compute then runs beside the 2 data-loading workers instead of fighting them for the
# cores (2 threads + 2 workers on 2 cores measured 3-6x slower per batch).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/tools/setup_env.sh"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
DATA=data/selfsup           # the path the configs read
WORK=work_dirs/selfsup
PRETRAIN_CFG=configs/avslowfast_demo_avs_world_pretrain.py
PROBE_CFG=configs/avslowfast_demo_avs_world_linear.py
start=$(date +%s)
echo "[selfsup] load before the demo: $(uptime)"

echo "[selfsup] world -> $DATA"
rm -rf "$DATA"
python tools/make_selfsup_world.py --out "$DATA"
rm -rf "$WORK"

echo "[selfsup] AVS pre-training: mim train mmaction $PRETRAIN_CFG"
t0=$(date +%s)
mim train mmaction "$PRETRAIN_CFG" --gpus 0 --work-dir "$WORK/pretrain"
echo "[selfsup] pre-training took $(( $(date +%s) - t0 )) s"
ckpt=$(ls -t "$WORK"/pretrain/best_*.pth | head -n 1)
echo "[selfsup] mim test mmaction $PRETRAIN_CFG --checkpoint $ckpt (held-out avs_test)"
mim test mmaction "$PRETRAIN_CFG" --gpus 0 --checkpoint "$ckpt" \
    --work-dir "$WORK/pretrain_test"

# probe NAME PRETRAINED: train the linear probe, then test its last checkpoint.
probe() {
    local name="$1" pretrained="$2" t0
    t0=$(date +%s)
    echo "[selfsup] linear probe ($name): mim train mmaction $PROBE_CFG" \
         "--cfg-options model.backbone.pretrained=$pretrained"
    mim train mmaction "$PROBE_CFG" --gpus 0 --work-dir "$WORK/probe_$name" \
        --cfg-options "model.backbone.pretrained=$pretrained"
    local last; last=$(ls -t "$WORK/probe_$name"/epoch_*.pth | head -n 1)
    mim test mmaction "$PROBE_CFG" --gpus 0 --checkpoint "$last" \
        --work-dir "$WORK/probe_${name}_test"
    echo "[selfsup] probe ($name) took $(( $(date +%s) - t0 )) s"
}
probe pretrained "$ckpt"
probe random None

echo "[selfsup] load after the demo: $(uptime)"
echo "[selfsup] held-out results (avs_test: 160 videos; probe_test: 240 clips)"
python tools/selfsup_report.py --avs "$WORK/pretrain_test" \
    --probe-pretrained "$WORK/probe_pretrained_test" \
    --probe-random "$WORK/probe_random_test" \
    --wall-time "$(( $(date +%s) - start ))"
echo "[selfsup] done in $(( $(date +%s) - start )) s"
