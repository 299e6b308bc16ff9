"""Inputs checked in Python before they reach Rust, so a bad value is named as the user wrote it:
a config value that is not a finite number (JSON has no NaN), an action that is not a whole
number (NaN would reach Rust as the smallest 64-bit integer)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from ._moralgym import MoralgymError


def _non_finite(value: Any, path: str) -> str | None:
    """The dotted key of the first float in ``value`` that is NaN or infinite, if any."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, dict):
        for k, v in value.items():
            found = _non_finite(v, f"{path}.{k}" if path else str(k))
            if found:
                return found
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = _non_finite(v, f"{path}[{i}]")
            if found:
                return found
    return None


def config_json(config: dict[str, Any]) -> str:
    """``config`` as JSON, refusing NaN and infinite values by key."""
    bad = _non_finite(config, "")
    if bad is not None:
        raise MoralgymError(f"config key `{bad}` is not a finite number (NaN and infinities have no meaning here)")
    return json.dumps(config, allow_nan=False)


def action_array(actions: Any) -> np.ndarray:
    """Actions as a flat int64 array, refusing values that are not whole numbers."""
    arr = np.asarray(actions).reshape(-1)
    if arr.dtype.kind == "f":
        bad = arr[~np.isfinite(arr) | (arr != np.round(arr))]
        if bad.size:
            raise MoralgymError(f"actions must be whole numbers (indices of actions), got {float(bad[0])}")
    elif arr.dtype.kind not in "iub":
        raise MoralgymError(f"actions must be whole numbers (indices of actions), got values of type {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def action(value: Any) -> int:
    """One action as an int, refusing values that are not whole numbers."""
    return int(action_array([value])[0])
