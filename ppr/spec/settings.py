"""Declared settings: each field of a spec carries its help text, bounds and CLI spelling.

A spec class lists its fields with `setting(...)`; `Settings.__post_init__` checks every
value against its declaration (type, finite, bounds, choices), so the defaults and the
checks of a setting live on one line. The CLI (ppr.cli.options) and the Runs form read
the same declarations to build their flags and widgets, so neither restates a default
or a range.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ppr.errors import InputError


@dataclass(frozen=True)
class Declaration:
    """What a setting accepts: bounds (inclusive lo/hi, exclusive above/below), choices, its word for None."""

    help: str
    lo: float | None = None
    hi: float | None = None
    above: float | None = None
    below: float | None = None
    choices: tuple[str, ...] | None = None
    none: str | None = None  # how None is typed ('all', 'auto', 'default'); None = not allowed
    flag: str | None = None  # CLI flag stem; default: the field name with '-' for '_'
    cli: bool = True  # False: set by the command itself (e.g. one --seed for several seeds)

    def expected(self, kind: type) -> str:
        """The accepted values in words, for error messages and help lines."""
        if self.choices is not None:
            text = "one of " + ", ".join(self.choices)
        elif kind is bool:
            text = "true or false"
        else:
            parts = ["an integer" if kind is int else "a finite number"]
            parts += [f"{op} {_num(v)}" for op, v in ((">=", self.lo), (">", self.above)) if v is not None]
            parts += [f"{op} {_num(v)}" for op, v in (("<=", self.hi), ("<", self.below)) if v is not None]
            text = " ".join(parts[:2]) + "".join(f" and {p}" for p in parts[2:])
        return text + (f", or '{self.none}'" if self.none else "")


def setting(default: Any, help: str, **declared: Any) -> Any:
    """A dataclass field with its declaration (see Declaration for the keywords)."""
    return field(default=default, metadata={"declaration": Declaration(help, **declared)})


def declaration(f: dataclasses.Field) -> Declaration:
    return f.metadata["declaration"]


@functools.cache
def value_types(cls: type) -> dict[str, type]:
    """Field name -> its value type (int, float, bool or str; Optional unwrapped)."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        out[name] = args[0] if args else hint
    return out


class Settings:
    """Base of the spec nodes: validates every declared field after construction."""

    SECTION: ClassVar[str] = "Run"  # names the node in error messages ("Tuning setting lr=...")

    def __post_init__(self) -> None:
        types = value_types(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if "declaration" in f.metadata:
                value = _checked(self.SECTION, f.name, getattr(self, f.name), types[f.name], declaration(f))
                object.__setattr__(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Checks across fields (override); single fields are checked from their declarations."""

    def fail(self, name: str, expected: str) -> None:
        raise InputError(f"{self.SECTION} setting {name}={getattr(self, name)!r} is invalid: expected {expected}.")


def _checked(section: str, name: str, value: Any, kind: type, d: Declaration) -> Any:
    """The value normalised to its type (numpy scalars, ints for floats), or an InputError."""
    if value is None and d.none is not None:
        return None
    try:
        out = _typed(value, kind)
    except (TypeError, ValueError, OverflowError):
        out = None
    ok = out is not None and (d.choices is None or out in d.choices)
    if ok and kind in (int, float):
        ok = math.isfinite(out) and _within(out, d)
    if not ok:
        raise InputError(f"{section} setting {name}={value!r} is invalid: expected {d.expected(kind)}.")
    return out


def _typed(value: Any, kind: type) -> Any:
    if kind is bool:
        return value if isinstance(value, bool) else None
    if isinstance(value, bool) or value is None:
        return None
    if kind in (int, float) and isinstance(value, (str, bytes)):  # text is parse_value's to read
        return None
    if kind is int:
        return int(value) if float(value).is_integer() else None
    if kind is float:
        return float(value)
    return value if isinstance(value, kind) else None


def _within(v: float, d: Declaration) -> bool:
    return not (
        (d.lo is not None and v < d.lo)
        or (d.hi is not None and v > d.hi)
        or (d.above is not None and v <= d.above)
        or (d.below is not None and v >= d.below)
    )


def _num(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else f"{v:,}"


def parse_value(cls: type, name: str, text: str) -> Any:
    """A setting as typed in the CLI or a form ('all'/'auto'/'default' for None, 'true'/'false' for flags).

    Only the type is read here; the spec's own check judges the value (bounds, choices).
    """
    d = declaration(next(f for f in dataclasses.fields(cls) if f.name == name))
    kind, word = value_types(cls)[name], text.strip()
    if d.none is not None and word.lower() == d.none:
        return None
    try:
        if kind is bool:
            return {"true": True, "false": False}[word.lower()]
        if kind is int:
            return _integer(word)
        return float(word) if kind is float else word
    except (KeyError, ValueError, OverflowError):
        raise InputError(f"{cls.SECTION} setting {name}={text!r} is invalid: expected {d.expected(kind)}.") from None


def parse_list(cls: type, name: str, text: str) -> tuple:
    """A comma-separated list of one setting's values (a sweep's grid axis)."""
    return tuple(parse_value(cls, name, v) for v in text.split(",") if v.strip())


def _integer(word: str) -> int:
    value = float(word) if any(c in word for c in ".eE") else int(word)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(word)
    return int(value)
