"""One colour per method (and baseline) in every chart of every page and export.

A label's colour is its own when listed (an ablation gets a lighter shade of its method's colour),
else its method's, else one of OTHERS in order of first appearance within a chart.
"""

from __future__ import annotations

from collections.abc import Iterable

from ppr.report.results import split_label

METHOD_COLOURS = {
    "pop": "#9d9d9d",
    "pop-profile": "#5f5f5f",
    "warm-only": "#b279a2",
    "sasrec": "#9d755d",
    "sasrec-target": "#c49c94",  # Table VII's sasrec, trained on the target domain alone
    "finetune": "#e4572e",
    "adapter": "#f2a541",
    "melu": "#8c6bb1",
    "gce-gnn": "#b5bd68",
    "minet": "#d37295",
    "ppr-light": "#54a24b",
    "ppr-full": "#4c78a8",
}
ABLATION_COLOURS = {"ppr-light": "#a5d99a", "ppr-full": "#9ecae9"}
OTHERS = ("#eeca3b", "#ff9da6", "#72b7b2", "#f58518", "#bab0ac")


def colour_map(labels: Iterable[str]) -> dict[str, str]:
    """label -> colour for the labels of one chart."""
    out, spare = {}, iter(OTHERS * 10)
    for label in dict.fromkeys(map(str, labels)):
        method, ablation = split_label(label)
        if label in METHOD_COLOURS:
            out[label] = METHOD_COLOURS[label]
        elif ablation != "none" and method in ABLATION_COLOURS:
            out[label] = ABLATION_COLOURS[method]
        else:
            out[label] = METHOD_COLOURS.get(method) or next(spare)
    return out
