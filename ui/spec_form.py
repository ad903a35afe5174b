"""Form widgets for declared settings (ppr.spec.settings): label, help, default and bounds come from the spec.

Like the CLI's flags (ppr.cli.options), the Runs form restates no default and no range: a
number input for a setting takes them from the setting's declaration, and the spec built
from the inputs checks the values once more.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ppr.spec.settings import declaration, parse_value, value_types
from ui.state import kept


def setting_input(
    where: Any,
    cls: type,
    name: str,
    label: str,
    key: str,
    optional: bool = False,
    choices: Mapping[Any, str] | None = None,
) -> Any:
    """A number input (checkbox, or select box for a choice) for setting `name` of spec class `cls` in container `where`.

    optional: the input may be left empty, meaning the setting's None (e.g. the method's default).
    choices: value as typed (the declaration's word for None, e.g. 'none') -> shown text, for a setting whose values
    come from the data (a dataset's item domains); the default's word must be among them. Words, not values, are
    the options: a select box shows a None option as empty.
    """
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    d, kind = declaration(f), value_types(cls)[name]
    if choices is not None:
        words = list(choices)
        default = d.none if f.default is None else str(f.default)
        word = where.selectbox(
            label, words, index=words.index(default), format_func=choices.get, key=kept(key), help=d.help
        )
        return parse_value(cls, name, word)
    if kind is bool:
        return where.checkbox(label, f.default, key=kept(key), help=d.help)
    if d.choices:
        return where.selectbox(
            label, list(d.choices), index=list(d.choices).index(f.default), key=kept(key), help=d.help
        )
    lo = d.lo if d.lo is not None else d.above  # an exclusive bound is the widget's limit too; the spec
    hi = d.hi if d.hi is not None else d.below  # refuses the bound itself
    cast = int if kind is int else float
    args = {"min_value": None if lo is None else cast(lo), "max_value": None if hi is None else cast(hi)}
    if kind is float:
        args["format"] = "%.0e" if name == "lr" else "%g"
        args["step"] = None
    value = where.number_input(
        label,
        value=None if optional else f.default,
        key=kept(key),
        help=d.help,
        placeholder=d.none if optional else None,
        **args,
    )
    return None if value is None else cast(value)
