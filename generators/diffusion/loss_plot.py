"""Plot the training loss logs of the bundled model (for its model card).

    python -m generators.diffusion.loss_plot [--out checkpoints/loss.png]

Reads checkpoints/autoencoder.log.csv and checkpoints/denoiser.log.csv (written every 10 steps
by the trainers) and draws each stage's loss and its loss on object cells, with a rolling mean
over 20 log rows (200 steps), on a log scale. A step logged twice (training killed after a log
row and resumed from the checkpoint before it) counts once, the resumed run's row.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

STAGES = ("autoencoder", "denoiser")
EVENTS = {"denoiser": ((1650, "weight: context's objects"), (2750, "moving average"), (4250, "prompts v3"),
                        (7500, "GPU: batch 64, 4,160 clips"), (18451, "lr 1e-4"),
                        (21666, "collision x3, lr 3e-4 -> 2e-5"), (34782, "+2,680 collision clips"),
                        (48000, "lr 1e-4 -> 1e-5"))}
"""Changes of the training recipe, drawn as vertical lines (the model card explains them)."""
ROLLING_ROWS = 20


def plot(folder: Path, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(STAGES), figsize=(10, 3.5))
    for axis, stage in zip(axes, STAGES):
        log = pd.read_csv(folder / f"{stage}.log.csv")
        log = log.drop_duplicates("step", keep="last").sort_values("step")  # a resumed run logs its steps again
        for column, label in (("loss", "weighted loss"), ("object_mse", "MSE on object cells")):
            axis.plot(log["step"], log[column].rolling(ROLLING_ROWS, min_periods=1).mean(), label=label)
        for step, label in EVENTS.get(stage, ()):
            axis.axvline(step, color="grey", linestyle="--", linewidth=1)
            axis.text(step, axis.get_ylim()[1], f" {label}", va="top", ha="right", rotation=90, fontsize=7, color="grey")
        axis.set(title=f"{stage} ({int(log['step'].iloc[-1])} steps)", xlabel="step", yscale="log")
        axis.grid(alpha=0.3)
        axis.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default="checkpoints")
    parser.add_argument("--out", default="checkpoints/loss.png")
    args = parser.parse_args()
    print(plot(Path(args.folder), Path(args.out)))


if __name__ == "__main__":
    main()
