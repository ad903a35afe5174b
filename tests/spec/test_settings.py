"""Declared settings: every field of every spec node is checked from its declaration, and typed text is parsed."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from ppr.errors import InputError
from ppr.spec.run import BackboneSpec, SplitSpec, TuneSpec, WarmSpec
from ppr.spec.settings import declaration, parse_list, parse_value, value_types

NODES = (SplitSpec, BackboneSpec, WarmSpec, TuneSpec)
FIELDS = [(cls, f.name) for cls in NODES for f in dataclasses.fields(cls) if "declaration" in f.metadata]
NUMERIC = [(cls, name) for cls, name in FIELDS if value_types(cls)[name] in (int, float)]
FLAGS = [(cls, name) for cls, name in FIELDS if value_types(cls)[name] is bool]


def _field(cls: type, name: str) -> dataclasses.Field:
    return next(f for f in dataclasses.fields(cls) if f.name == name)


def _id(param) -> str:
    cls, name = param
    return f"{cls.__name__}.{name}"


def _rejects(cls: type, name: str, value) -> InputError:
    with pytest.raises(InputError) as err:
        cls(**{name: value})
    text = str(err.value)
    assert text.startswith(f"{cls.SECTION} setting {name}="), text  # the message names the setting
    assert "is invalid: expected" in text, text
    return err.value


def _out_of_bounds(cls: type, name: str) -> list[float]:
    d = declaration(_field(cls, name))
    values = []
    if d.lo is not None:
        values.append(d.lo - 1)
    if d.hi is not None:
        values.append(d.hi + 1)
    values += [v for v in (d.above, d.below) if v is not None]  # exclusive bounds: the bound itself fails
    return values


def test_every_node_declares_its_fields_and_every_kind_is_covered() -> None:
    assert len(FIELDS) == sum(len(dataclasses.fields(cls)) for cls in NODES)
    assert NUMERIC and FLAGS
    assert all(_out_of_bounds(cls, name) for cls, name in NUMERIC), "every numeric setting has a bound"


@pytest.mark.parametrize("param", NUMERIC, ids=_id)
def test_numeric_settings_reject_non_finite_out_of_bounds_and_wrong_types(param) -> None:
    cls, name = param
    for value in (math.inf, -math.inf, math.nan, np.float64("nan"), *_out_of_bounds(cls, name)):
        _rejects(cls, name, value)
    for value in ("1", [1], True, False, object()):  # strings and bools are not numbers
        _rejects(cls, name, value)
    if declaration(_field(cls, name)).none is None:
        _rejects(cls, name, None)
    if value_types(cls)[name] is int:
        _rejects(cls, name, 1.5)  # an int setting takes whole numbers only


@pytest.mark.parametrize("param", NUMERIC, ids=_id)
def test_numeric_settings_accept_their_inclusive_bounds_normalised_to_their_type(param) -> None:
    cls, name = param
    d, kind = declaration(_field(cls, name)), value_types(cls)[name]
    for bound in (d.lo, d.hi):
        if bound is None:
            continue
        value = getattr(cls(**{name: bound}), name)  # the defaults of the other fields allow every bound
        assert value == bound and type(value) is kind
    if kind is float and d.lo is not None and float(d.lo).is_integer():
        assert type(getattr(cls(**{name: int(d.lo)}), name)) is float  # an int is a fine float
    if kind is int and d.lo is not None:
        value = getattr(cls(**{name: np.int64(d.lo)}), name)  # numpy scalars become plain ints
        assert value == d.lo and type(value) is int
        assert type(getattr(cls(**{name: float(d.lo)}), name)) is int  # 3.0 is the integer 3


@pytest.mark.parametrize("param", FLAGS, ids=_id)
def test_flags_reject_ints_and_strings(param) -> None:
    cls, name = param
    for value in (0, 1, "true", None, 1.0):
        _rejects(cls, name, value)
    assert getattr(cls(**{name: False}), name) is False


def test_choices_reject_unknown_values() -> None:
    for cls, name, bad in ((TuneSpec, "method", "magic"), (TuneSpec, "method", 1), (BackboneSpec, "kind", "gru")):
        err = _rejects(cls, name, bad)
        assert ", ".join(declaration(_field(cls, name)).choices) in str(err)


def test_none_is_allowed_only_where_a_word_is_declared() -> None:
    assert TuneSpec(k_shot=None).k_shot is None
    assert SplitSpec(simulate_cold=None).simulate_cold is None
    assert TuneSpec(lr=None).lr is None
    _rejects(WarmSpec, "lr", None)
    err = _rejects(TuneSpec, "k_shot", 0)
    assert "or 'all'" in str(err)  # the message says how None is typed


def test_message_says_what_is_expected() -> None:
    err = _rejects(TuneSpec, "prompt_mask", 1.5)
    assert str(err) == "Tuning setting prompt_mask=1.5 is invalid: expected a finite number >= 0 and < 1."
    err = _rejects(WarmSpec, "epochs", 0)
    assert "Warm-training setting epochs=0" in str(err) and "an integer >= 1 and <= 100,000" in str(err)


def test_parse_value_reads_words_for_none() -> None:
    assert parse_value(TuneSpec, "k_shot", "all") is None
    assert parse_value(TuneSpec, "k_shot", " ALL ") is None
    assert parse_value(SplitSpec, "simulate_cold", "auto") is None
    assert parse_value(TuneSpec, "lr", "default") is None
    assert parse_value(TuneSpec, "batch_size", "Default") is None
    for cls, name, word in (
        (TuneSpec, "k_shot", "default"),  # k-shot's word is 'all'
        (SplitSpec, "simulate_cold", "all"),
        (WarmSpec, "epochs", "default"),  # no word: None is not allowed
        (WarmSpec, "lr", "auto"),
    ):
        with pytest.raises(InputError, match=f"setting {name}="):
            parse_value(cls, name, word)


def test_parse_value_types_numbers_and_flags() -> None:
    assert parse_value(TuneSpec, "k_shot", "5") == 5
    assert parse_value(WarmSpec, "epochs", "1e3") == 1000 and type(parse_value(WarmSpec, "epochs", "1e3")) is int
    assert parse_value(WarmSpec, "epochs", "3.0") == 3
    assert parse_value(TuneSpec, "lr", "3e-4") == pytest.approx(3e-4)
    assert parse_value(TuneSpec, "cl", "true") is True and parse_value(TuneSpec, "cl", "False") is False
    assert parse_value(TuneSpec, "method", " ppr-full ") == "ppr-full"
    # only the type is read here; the spec itself judges the value
    assert parse_value(WarmSpec, "epochs", "0") == 0
    with pytest.raises(InputError, match="epochs=0"):
        WarmSpec(epochs=parse_value(WarmSpec, "epochs", "0"))
    assert math.isinf(parse_value(TuneSpec, "lr", "inf"))
    with pytest.raises(InputError, match="lr=inf"):
        TuneSpec(lr=parse_value(TuneSpec, "lr", "inf"))


@pytest.mark.parametrize(
    ("cls", "name", "text"),
    [
        (WarmSpec, "epochs", "2.5"),
        (WarmSpec, "epochs", "ten"),
        (WarmSpec, "epochs", ""),
        (WarmSpec, "epochs", "1e999"),
        (TuneSpec, "lr", "fast"),
        (TuneSpec, "lr", "1,5"),
        (TuneSpec, "cl", "yes"),
        (TuneSpec, "cl", "1"),
        (TuneSpec, "k_shot", "some"),
    ],
)
def test_parse_value_rejects_garbage_naming_the_setting(cls: type, name: str, text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_value(cls, name, text)
    assert str(err.value).startswith(f"{cls.SECTION} setting {name}={text!r} is invalid: expected")


def test_parse_list_reads_a_grid_axis() -> None:
    assert parse_list(TuneSpec, "k_shot", "1, 5,all") == (1, 5, None)
    assert parse_list(TuneSpec, "noise", "0,0.1,") == (0.0, 0.1)
    assert parse_list(TuneSpec, "method", "finetune,ppr-full") == ("finetune", "ppr-full")
    assert parse_list(TuneSpec, "noise", "") == ()
    with pytest.raises(InputError, match="noise='x'"):
        parse_list(TuneSpec, "noise", "0.1,x")
