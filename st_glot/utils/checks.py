"""Argument checks shared by st-glot's constructors: errors name the value and the valid ones."""

from __future__ import annotations

from collections.abc import Iterable


def check_choice(name: str, value: object, valid: Iterable[str]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``valid`` (a tuple, or a dict's keys)."""
    valid = tuple(valid)
    if value not in valid:
        raise ValueError(f"Invalid {name}: {value!r}. Valid values are: {valid}.")


def check_int(name: str, value: object, minimum: int) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer ``>= minimum``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"Invalid {name}: {value!r}. It must be an integer >= {minimum}.")
