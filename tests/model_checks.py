"""A dict against a TypedDict (as napalm's ``test_model`` holds every getter's output to its model):
only keys the TypedDict lists, the required ones present, every value of the declared type."""
from __future__ import annotations

import typing
from typing import Any


def typed_dict_problems(data: Any, model: type, where: str = "facts") -> list[str]:
    """One line per way ``data`` departs from ``model`` (a TypedDict); [] when it fits."""
    if not isinstance(data, dict):
        return [f"{where}: {type(data).__name__}, not a dict"]
    hints = typing.get_type_hints(model)
    out = [f"{where}: missing {k!r}" for k in sorted(model.__required_keys__ - data.keys())]
    for key, value in data.items():
        if key not in hints:
            out.append(f"{where}: unknown key {key!r} (not in {model.__name__})")
        else:
            out += _value_problems(value, hints[key], f"{where}.{key}")
    return out


def _value_problems(value: Any, tp: Any, where: str) -> list[str]:
    if typing.is_typeddict(tp):
        return typed_dict_problems(value, tp, where)
    origin = typing.get_origin(tp)
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__}, not a list"]
        (item,) = typing.get_args(tp)
        return [p for i, v in enumerate(value) for p in _value_problems(v, item, f"{where}[{i}]")]
    if origin is not None:
        raise TypeError(f"{where}: no check for {tp!r}")  # a new kind of field: teach this helper
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        return [f"{where}: {type(value).__name__} {value!r}, not {tp.__name__}"]
    return []
