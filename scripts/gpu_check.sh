#!/usr/bin/env bash
# The GPU path, checked by a person with a GPU: trains the default agent (BC, state, Push) and an image
# agent (BC on 84x84 rgb, ResNet-18-GN) on each device and prints their training samples/s side by side.
#
#   bash scripts/gpu_check.sh                  # cuda and cpu, 2000 steps each
#   DEVICES="cuda" STEPS=5000 bash scripts/gpu_check.sh
#
# Runs go to $OUT (default: a new temporary directory); nothing else is written. Needs `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
DEVICES=${DEVICES:-"cuda cpu"}
STEPS=${STEPS:-2000}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
export MUJOCO_GL=${MUJOCO_GL:-egl} PYOPENGL_PLATFORM=${PYOPENGL_PLATFORM:-egl}

"$BIN/python" -c "import torch; print('torch', torch.__version__, '| cuda available:', torch.cuda.is_available(),
      '|', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"

declare -A AGENTS=(
  [bc_state]="experiment=push_bc"
  [bc_rgb]="experiment=push_bc_rgb"
)
printf '%-10s %-6s %14s %12s\n' agent device "samples/s" success
for name in bc_state bc_rgb; do
  for device in $DEVICES; do
    run="$OUT/${name}_${device}"
    "$BIN/workbench" train ${AGENTS[$name]} device="$device" agent.steps="$STEPS" demos.episodes=20 \
      eval.episodes=4 eval.video=false trainer.progress=false run_dir="$run" >"$run.log" 2>&1 \
      || { printf '%-10s %-6s %14s\n' "$name" "$device" "failed: see $run.log"; continue; }
    "$BIN/python" - "$run" "$name" "$device" <<'PY'
import json, statistics, sys
run, name, device = sys.argv[1:]
rows = [json.loads(line) for line in open(f"{run}/metrics.jsonl")]
rates = [r["train/samples_per_s"] for r in rows if r.get("train/samples_per_s")]
success = json.load(open(f"{run}/eval/results.json"))["success_rate"]
print(f"{name:<10} {device:<6} {statistics.median(rates[1:] or rates):14.0f} {success:12.2f}")
PY
  done
done
echo "runs and logs: $OUT"
