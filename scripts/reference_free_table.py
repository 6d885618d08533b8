"""The reference-free table of docs/meta_eval.md from the rows of a meta-evaluation.

Each reference-free metric on its own corruptions, on the clips where it applies (its clean value is not NaN),
so that its recall is not diluted by the families it abstains on; tags as the run raised them (run the
meta-evaluation with the reference-free metrics alone to credit them alone):

    physcheck meta-eval "metrics=[gravity_free,permanence_free,rigidity_free,direction_free,time_direction_free]" \\
        out=meta_eval_free
    python scripts/reference_free_table.py meta_eval_free/meta_eval_rows.parquet
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.meta_eval import MODERATE, auroc, severity_correlation, tag_rate  # noqa: E402
from generators.corruptions import CORRUPTIONS  # noqa: E402

OWN = [("gravity_free", "gravity_scale", "wrong_gravity"), ("permanence_free", "appear", "object_appeared"),
       ("permanence_free", "vanish", "object_vanished"), ("rigidity_free", "stretch", "shape_changed"),
       ("rigidity_free", "bend", "rigidity_broken"), ("direction_free", "region_reverse", "reversed_motion"),
       ("direction_free", "time_reverse", "reversed_motion"), ("time_direction_free", "time_reverse", "time_reversed")]
"""(metric, own corruption, its tag) rows of the table."""


def applicable_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (metric, own corruption) of OWN present in the rows, on the clips the metric applies to."""
    harmless = [name for name in CORRUPTIONS.names() if not CORRUPTIONS.get(name).harmful]
    clean_all = rows[rows["corruption"] == "clean"]
    out = []
    for metric, corruption, tag in OWN:
        if metric not in rows.columns or corruption not in set(rows["corruption"]):
            continue
        applies = rows[rows["clip_id"].isin(set(clean_all.loc[clean_all[metric].notna(), "clip_id"]))]
        clean = applies[applies["corruption"] == "clean"]
        own = applies[applies["corruption"] == corruption]
        moderate = own[own["severity"] == MODERATE]
        ladder = pd.concat([clean[clean["clip_id"].isin(set(own["clip_id"]))], own])
        false_tags = {name: tag_rate(applies[applies["corruption"] == name], tag) for name in harmless}
        worst = max(false_tags, key=lambda name: np.nan_to_num(false_tags[name], nan=-1.0))
        families = sorted(set(own["family"]))  # the clips the corruption changes
        out.append({"metric": metric, "own corruption": corruption,
                    "applies to (families)": ", ".join(families) if len(families) < 13 else "all 13",
                    "clips": len(moderate), "AUROC": round(auroc(clean[metric].to_numpy(), moderate[metric].to_numpy()), 3),
                    "Spearman": round(severity_correlation(ladder, metric), 3), "tag": tag,
                    "recall": round(tag_rate(moderate, tag), 3), "fp clean": round(tag_rate(clean, tag), 3),
                    "fp harmless (max)": f"{false_tags[worst]:.3g} ({worst})" if false_tags[worst] > 0 else "0"})
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", help="meta_eval_rows.parquet written by physcheck meta-eval")
    rows = pd.read_parquet(parser.parse_args().rows)
    rows["tags"] = rows["tags"].map(json.loads)
    print(applicable_table(rows).to_markdown(index=False))


if __name__ == "__main__":
    main()
