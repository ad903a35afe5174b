"""One colour per method: listed methods keep theirs, ablations a lighter shade, unknown labels distinct spares."""

from __future__ import annotations

from ui.palette import ABLATION_COLOURS, METHOD_COLOURS, colour_map


def test_a_method_has_the_same_colour_in_any_chart() -> None:
    one = colour_map(["finetune", "ppr-full"])
    other = colour_map(["pop", "ppr-full", "ppr-light", "finetune"])
    assert one["ppr-full"] == other["ppr-full"] == METHOD_COLOURS["ppr-full"]
    assert one["finetune"] == other["finetune"]
    assert len(set(colour_map(METHOD_COLOURS).values())) == len(METHOD_COLOURS)


def test_ablations_and_unknown_labels() -> None:
    colours = colour_map(["ppr-full-nocl", "ppr-light-nocl-nopaug", "sasrec-nocl", "scores-import", "other"])
    assert colours["ppr-full-nocl"] == ABLATION_COLOURS["ppr-full"]
    assert colours["ppr-light-nocl-nopaug"] == ABLATION_COLOURS["ppr-light"]
    assert colours["sasrec-nocl"] == METHOD_COLOURS["sasrec"]
    assert colours["scores-import"] != colours["other"]
    assert not {colours["scores-import"], colours["other"]} & set(METHOD_COLOURS.values())
