#!/bin/bash
# Continue training the bundled denoiser on a GPU machine that has torch but not this project's other
# dependencies (checkpoints/MODEL_CARD.md, "Training data and objective"). Prepare on the CPU machine:
#   python -m generators.diffusion.data --clips-per-family 320 --no-compress --out train-320.npz && xz -T0 -6 train-320.npz
# (6.6 KB a clip with xz, against 12 KB with the .npz's own zip compression), and the training state without its
# optimizer moments (they do not fit the upload beside the data; Adam restarts, hence --warmup):
#   python -m generators.diffusion.checkpoint train_state/denoiser.safetensors state.safetensors --keep-ema
# Usage: DATA=train-320.npz.xz STATE=state.safetensors OUT=results MINUTES=7 bash scripts/gpu_train.sh
# DATA may name several files, space-separated: supplements written with --families/--first-seed past the main
# set's seeds (python -m generators.diffusion.data --clips-per-family 680 --families collision --first-seed 320 ...).
# Without STATE, training resumes from the shipped weights (checkpoints/denoiser.safetensors) with a fresh
# optimizer and a moving average started from them: the upload then has room for more data.
# Optional: LR (3e-4), BATCH (64), STEPS (the last step: where --lr-final is reached; default 1000000, i.e. stop on
# MINUTES), KEEP (keep a copy of the weights every KEEP steps, brought back beside the final ones), EXTRA (more
# trainer options, e.g. "--family-weight collision=3 --warmup 300 --lr-final 2e-5 --schedule-start 21666").
set -u
export PYTHONUNBUFFERED=1
work=${WORK:-/tmp/physcheck-gpu}; out=${OUT:-results}; mkdir -p "$work" "$out"
data=()  # DATA: one training-set file or several, space-separated (a set and its supplements)
for file in $DATA; do
  target="$work/$(basename "${file%.xz}")"
  case "$file" in
    *.xz) xz -T0 -dc "$file" > "$target" || exit 1 ;;
    *) cp "$file" "$target" ;;
  esac
  data+=("$target")
done
cp checkpoints/denoiser.safetensors "$work/denoiser.safetensors"
[ -n "${STATE:-}" ] && cp "$STATE" "$work/state.safetensors"
python3 scripts/gpu_launch.py --data "${data[@]}" --device cuda --out "$work/denoiser.safetensors" \
  --state "$work/state.safetensors" --steps "${STEPS:-1000000}" --batch "${BATCH:-64}" --lr "${LR:-3e-4}" --ema 0.999 \
  --weighting context --checkpoint-every 500 --max-minutes "${MINUTES:-7}" --keep-every "${KEEP:-0}" ${EXTRA:-} 2>&1 | tr '\r' '\n' > "$out/train.log"
cp "$work"/denoiser*.safetensors "$work/denoiser.log.csv" "$out/"
split -b 15M "$work/state.safetensors" "$out/state.part-"  # cat state.part-* > train_state/denoiser.safetensors
grep -v "it/s]$" "$out/train.log" | tail -n 5; ls -la "$out"
