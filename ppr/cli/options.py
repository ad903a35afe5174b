"""Command-line flags derived from the run description: one flag per declared setting (ppr.spec).

Each spec node's fields become flags with the node's prefix ('--warm-lr' for warm-training's
learning rate in `tune`), their help and defaults from the declarations; values are read as
text and judged by the spec's own checks, so a bad value is an InputError (exit 2) that names
the setting and what it accepts. Nothing here restates a default or a range.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from ppr.spec.settings import Declaration, declaration, parse_value, value_types


def add_settings(
    parser: argparse.ArgumentParser,
    cls: type,
    prefix: str = "",
    skip: tuple[str, ...] = (),
    required: tuple[str, ...] = (),
) -> None:
    """A flag per CLI setting of `cls` (not in `skip`), e.g. --warm-lr for prefix 'warm-'."""
    group = parser.add_argument_group(f"{cls.SECTION.lower()} settings")
    types = value_types(cls)
    for f in dataclasses.fields(cls):
        d = declaration(f)
        if not d.cli or f.name in skip:
            continue
        flag = "--" + prefix + (d.flag or f.name.replace("_", "-"))
        default = d.none if f.default is None else f.default
        shown = f.name not in required and d.none != "default"  # 'default': the help names each method's
        text = d.help.replace("%", "%%") + (f" (default: {default})" if shown else "")
        if types[f.name] is bool:
            group.add_argument(
                flag, dest=_dest(cls, f.name), action=argparse.BooleanOptionalAction, default=None, help=text
            )
        else:
            group.add_argument(
                flag,
                dest=_dest(cls, f.name),
                default=None,
                metavar=_metavar(d, types[f.name]),
                help=text,
                required=f.name in required,
            )


def settings_from(args: argparse.Namespace, cls: type, **fixed: Any) -> Any:
    """An instance of `cls` from the flags given (the rest at their defaults) and `fixed` values."""
    given = {}
    for f in dataclasses.fields(cls):
        value = getattr(args, _dest(cls, f.name), None)
        if value is not None:
            given[f.name] = value if isinstance(value, bool) else parse_value(cls, f.name, value)
    return cls(**{**given, **fixed})


def _metavar(d: Declaration, kind: type) -> str:
    if d.choices:
        return "|".join(d.choices)
    word = {int: "INT", float: "NUM"}.get(kind, "TEXT")
    return f"{word}|{d.none}" if d.none else word


def _dest(cls: type, name: str) -> str:
    return f"{cls.__name__}__{name}"
