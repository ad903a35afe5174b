"""Form widgets for declared settings: a number input takes its bounds, default and help from the setting's
declaration (as the CLI's flags do), an optional one starts empty (the method's default), a flag is a checkbox,
and the value comes back in the setting's type."""

from __future__ import annotations

import dataclasses

import pytest
from streamlit.testing.v1 import AppTest

from ppr.spec.run import BackboneSpec, SplitSpec, TuneSpec, WarmSpec
from ppr.spec.settings import declaration


def form() -> None:
    import streamlit as st

    from ppr.spec.run import BackboneSpec, SplitSpec, TuneSpec, WarmSpec
    from ui.spec_form import setting_input

    st.session_state["returned"] = {
        "d": setting_input(st, BackboneSpec, "d", "Hidden size", "d"),
        "dropout": setting_input(st, BackboneSpec, "dropout", "Dropout", "dropout"),
        "warm_lr": setting_input(st, WarmSpec, "lr", "Warm learning rate", "warm_lr"),
        "epochs": setting_input(st, TuneSpec, "epochs", "Tuning epochs", "epochs", optional=True),
        "cl": setting_input(st, TuneSpec, "cl", "Contrastive learning", "cl"),
        "backbone": setting_input(st, BackboneSpec, "kind", "Backbone", "backbone"),
        "domain": setting_input(
            st,
            SplitSpec,
            "target_domain",
            "Target domain",
            "domain",
            choices={"none": "none (one domain)", "books": "books (2 items)"},
        ),
    }


def field(cls: type, name: str) -> dataclasses.Field:
    return next(f for f in dataclasses.fields(cls) if f.name == name)


@pytest.fixture
def at() -> AppTest:
    at = AppTest.from_function(form, default_timeout=30).run()
    assert not at.exception, at.exception
    return at


def test_number_inputs_take_bounds_default_and_help_from_the_declaration(at: AppTest) -> None:
    d = at.number_input(key="d")
    assert (d.min, d.max, d.value) == (1, 4096, BackboneSpec().d) and d.label == "Hidden size"
    assert d.help == declaration(field(BackboneSpec, "d")).help == "hidden size"
    assert d.proto.data_type == d.proto.INT

    dropout = at.number_input(key="dropout")  # lo=0 inclusive, below=1 exclusive: the spec refuses 1 itself
    assert (dropout.min, dropout.max, dropout.value) == (0.0, 1.0, 0.2)
    assert dropout.proto.data_type == dropout.proto.FLOAT and dropout.proto.format == "%g"

    lr = at.number_input(key="warm_lr")  # above=0 (exclusive), hi=10
    assert (lr.min, lr.max, lr.value) == (0.0, 10.0, WarmSpec().lr) and lr.proto.format == "%.0e"

    epochs = at.number_input(key="epochs")  # optional: empty means the method's default
    assert epochs.value is None and epochs.proto.placeholder == "default"
    assert (epochs.min, epochs.max) == (0, 100_000)
    returned = {"d": 64, "dropout": 0.2, "warm_lr": 3e-3, "epochs": None, "cl": True, "backbone": "sasrec"}
    assert at.session_state["returned"] == returned | {"domain": None}


def test_a_choice_is_a_select_box_of_the_declared_choices(at: AppTest) -> None:
    box = at.selectbox(key="backbone")
    assert box.options == ["sasrec", "cl4srec", "gru4rec", "bert4rec"] and box.value == "sasrec"
    assert box.help == declaration(field(BackboneSpec, "kind")).help
    box.select("gru4rec").run()
    assert at.session_state["returned"]["backbone"] == "gru4rec"


def test_choices_from_the_data_are_a_select_box_starting_at_the_default(at: AppTest) -> None:
    box = at.selectbox(key="domain")
    assert box.options == ["none (one domain)", "books (2 items)"] and box.value == "none"  # shown texts
    assert box.help == declaration(field(SplitSpec, "target_domain")).help
    box.select("books").run()
    assert at.session_state["returned"]["domain"] == "books"
    at.selectbox(key="domain").select("none").run()
    assert at.session_state["returned"]["domain"] is None  # the declaration's word for None, as the CLI reads it


def test_a_flag_is_a_checkbox_with_its_default(at: AppTest) -> None:
    cl = at.checkbox(key="cl")
    assert cl.value is TuneSpec().cl and cl.help == declaration(field(TuneSpec, "cl")).help


def test_values_come_back_in_the_settings_type(at: AppTest) -> None:
    at.number_input(key="d").set_value(32)
    at.number_input(key="epochs").set_value(7)
    at.checkbox(key="cl").uncheck().run()
    assert not at.exception, at.exception
    out = at.session_state["returned"]
    assert out == {"d": 32, "dropout": 0.2, "warm_lr": 3e-3, "epochs": 7, "cl": False, "backbone": "sasrec"} | {
        "domain": None
    }
    assert type(out["d"]) is int and type(out["epochs"]) is int and type(out["dropout"]) is float
    assert TuneSpec(epochs=out["epochs"], cl=out["cl"]).resolved("epochs") == 7  # what the form builds a spec from
