"""Strict JSON for every file gamedyn writes, with one convention for non-finite numbers.

The convention
--------------
Files written with :func:`dumps` are strict JSON (RFC 8259): they never contain the bare
``NaN``, ``Infinity`` or ``-Infinity`` tokens that Python's :mod:`json` writes by default
and that strict parsers (JavaScript's ``JSON.parse``, ``jq``, most other languages)
reject.  A non-finite float is written as one of the strings

- ``"inf"`` for plus infinity,
- ``"-inf"`` for minus infinity,
- ``"nan"`` for NaN,

and :func:`loads` turns those three strings back into floats, wherever they occur
(values, not keys).  A string whose text is exactly ``"inf"``, ``"-inf"`` or ``"nan"``
therefore reads back as the float: the price of keeping the files strict and the
numbers readable.  :func:`loads` also reads files written before this convention (bare
``NaN``/``Infinity`` tokens), as Python's :mod:`json` does.

Other values that :func:`to_jsonable` converts: numpy scalars and arrays, torch tensors
and anything else with a ``tolist()`` method become plain Python values and lists;
tuples become lists; complex numbers become ``[re, im]`` (not restored by
:func:`loads`); mapping keys that are not ``str`` become ``str(key)``.

Used by the trainer's ``log.jsonl`` and checkpoint history (:mod:`gan_models.trainer`),
the sweep's results files (:mod:`analyses.sweep`) and the report's ``summary.json``
(:mod:`analyses.report`).

Examples
--------
>>> from gan_models.jsonio import dumps, loads
>>> text = dumps({"loss": float("nan"), "bound": [1.5, float("inf"), -float("inf")]})
>>> text
'{"loss": "nan", "bound": [1.5, "inf", "-inf"]}'
>>> loads(text)
{'loss': nan, 'bound': [1.5, inf, -inf]}
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

__all__ = ["NONFINITE", "dumps", "from_jsonable", "loads", "to_jsonable"]

NONFINITE: dict[str, float] = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
"""The strings that stand for the non-finite floats in gamedyn's JSON files."""


def _float(value: float) -> float | str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data under the convention of :mod:`gan_models.jsonio`.

    Non-finite floats become the strings ``"inf"``, ``"-inf"``, ``"nan"``; numpy
    scalars and arrays, torch tensors and anything with a ``tolist()`` method become
    Python numbers and lists; tuples become lists; complex numbers become ``[re, im]``;
    non-``str`` mapping keys become ``str(key)``.

    Parameters
    ----------
    value : object
        ``None``, ``bool``, numbers, ``str``, mappings, lists and tuples of these, or
        objects with a ``tolist()`` method (arrays, tensors), nested to any depth.

    Returns
    -------
    object
        Data that ``json.dumps(..., allow_nan=False)`` writes.

    Raises
    ------
    TypeError
        If some value is of another type (naming the type).

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"rho": np.float32(0.5), "mu": np.array([1j, np.inf]), 3: (True, None)})
    {'rho': 0.5, 'mu': [[0.0, 1.0], ['inf', 0.0]], '3': [True, None]}
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return _float(float(value))
    if isinstance(value, numbers.Complex):
        return [_float(float(value.real)), _float(float(value.imag))]
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return to_jsonable(tolist())
    raise TypeError(f"a value of type {type(value).__name__} is not JSON-serialisable")


def dumps(value: Any, **kwargs: Any) -> str:
    """Strict JSON text of ``value`` (non-finite floats as ``"inf"``, ``"-inf"``, ``"nan"``).

    Parameters
    ----------
    value : object
        Anything :func:`to_jsonable` accepts.
    **kwargs
        Passed on to :func:`json.dumps` (``indent``, ``sort_keys``, ``separators``, ...);
        ``allow_nan`` is always ``False``.

    Returns
    -------
    str
        Text without the bare ``NaN``/``Infinity`` tokens.

    Raises
    ------
    TypeError
        If ``value`` holds something that is not JSON-serialisable.
    """
    kwargs.pop("allow_nan", None)
    return json.dumps(to_jsonable(value), allow_nan=False, **kwargs)


def from_jsonable(value: Any) -> Any:
    """``value`` with the strings ``"inf"``, ``"-inf"``, ``"nan"`` turned back into floats.

    Lists and mapping values are converted recursively (mapping keys are left alone);
    everything else is returned as it is.

    Examples
    --------
    >>> from_jsonable({"a": ["inf", "1", 2.0], "nan": "nan"})
    {'a': [inf, '1', 2.0], 'nan': nan}
    """
    if isinstance(value, str):
        return NONFINITE.get(value, value)
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: from_jsonable(v) for k, v in value.items()}
    return value


def loads(text: str | bytes | bytearray) -> Any:
    """Parse JSON written by :func:`dumps` (or by older gamedyn versions) into Python.

    The strings ``"inf"``, ``"-inf"``, ``"nan"`` become floats (:func:`from_jsonable`);
    the bare ``NaN``, ``Infinity`` and ``-Infinity`` tokens of files written before the
    convention are accepted too.

    Raises
    ------
    json.JSONDecodeError
        If ``text`` is not JSON (a :class:`ValueError`).
    """
    return from_jsonable(json.loads(text))
