"""gamedyn's one JSON convention (gan_models.jsonio): strict JSON, non-finite floats as
"inf"/"-inf"/"nan" read back as floats; the trainer, the sweep and the report use it, and
files written before it (bare Infinity/NaN tokens) still read and resume."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from analyses.sweep import sweep
from gan_models import TrainConfig, Trainer, load_checkpoint
from gan_models.jsonio import NONFINITE, dumps, from_jsonable, loads, to_jsonable


def strict_loads(text: str) -> object:
    """json.loads that fails on the bare NaN/Infinity/-Infinity tokens (as strict parsers do)."""

    def refuse(token: str) -> object:
        raise AssertionError(f"non-strict JSON token {token!r}")

    return json.loads(text, parse_constant=refuse)


def same(a: object, b: object) -> bool:
    """Equality that treats NaN as equal to NaN, through lists and dicts."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


# -- the convention ------------------------------------------------------------------------------


def test_non_finite_floats_round_trip_through_strict_text():
    value = {
        "nan": math.nan,
        "inf": math.inf,
        "-inf": -math.inf,
        "nested": [1.5, [math.inf, {"x": -math.inf}], math.nan, 0.0, -2],
        "plain": "text",
        "none": None,
        "flag": True,
    }
    text = dumps(value)
    assert strict_loads(text) == {
        "nan": "nan",
        "inf": "inf",
        "-inf": "-inf",
        "nested": [1.5, ["inf", {"x": "-inf"}], "nan", 0.0, -2],
        "plain": "text",
        "none": None,
        "flag": True,
    }
    back = loads(text)
    assert same(back, value)
    assert math.isnan(back["nan"]) and back["inf"] == math.inf and back["-inf"] == -math.inf
    assert set(NONFINITE) == {"inf", "-inf", "nan"}


def test_numpy_torch_and_complex_values_become_plain_json():
    value = {
        "f32": np.float32(0.5),
        "i64": np.int64(3),
        "flag": np.bool_(True),
        "array": np.array([1.0, np.nan, np.inf]),
        "tensor": torch.tensor([[-np.inf, 2.0]]),
        "complex": 1 - 2j,
        "eigenvalues": np.array([0.5j, -0.5j]),
        "tuple": (1, 2),
        4: "int key",
    }
    plain = to_jsonable(value)
    assert plain == {
        "f32": 0.5,
        "i64": 3,
        "flag": True,
        "array": [1.0, "nan", "inf"],
        "tensor": [["-inf", 2.0]],
        "complex": [1.0, -2.0],
        "eigenvalues": [[0.0, 0.5], [0.0, -0.5]],
        "tuple": [1, 2],
        "4": "int key",
    }
    assert type(plain["flag"]) is bool and type(plain["i64"]) is int
    strict_loads(dumps(value, indent=1, sort_keys=True, allow_nan=True))  # allow_nan is ignored


def test_files_written_before_the_convention_still_read():
    assert same(
        loads('{"a": NaN, "b": [Infinity, -Infinity], "c": "inf"}'),
        {"a": math.nan, "b": [math.inf, -math.inf], "c": math.inf},
    )
    assert from_jsonable(["-inf", "Inf", "nan ", 1]) == [-math.inf, "Inf", "nan ", 1]


def test_what_json_cannot_hold_is_a_type_error_naming_the_type():
    with pytest.raises(TypeError, match="object is not JSON-serialisable"):
        dumps({"x": [object()]})
    with pytest.raises(TypeError, match="set is not JSON-serialisable"):
        to_jsonable({1, 2})
    with pytest.raises(json.JSONDecodeError):
        loads("{not json")


# -- the writers ---------------------------------------------------------------------------------


def test_trainer_log_and_history_are_strict_and_read_back_as_floats(tmp_path):
    cfg = TrainConfig.from_dict(
        {
            "steps": 4,
            "batch_size": 16,
            "latent_dim": 2,
            "eval_every": 2,
            "eval_samples": 50,
            "checkpoint_every": 4,
            "log_every": 2,
            "generator": {"width": 8},
            "discriminator": {"width": 8},
        }
    )
    scores = {"score": math.inf, "worst": -math.inf, "undefined": math.nan, "plain": 1.0}
    trainer = Trainer.from_config(
        cfg, out_dir=tmp_path, evaluate=lambda samples: dict(scores), progress=False
    )
    trainer.train()
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    evals = [loads(line) for line in lines if "score" in strict_loads(line)]
    assert [r["step"] for r in evals] == [0, 2, 4]
    assert same({k: evals[-1][k] for k in scores}, scores)
    history = load_checkpoint(tmp_path / "checkpoint.pt")["history"]
    strict_loads(history)
    resumed = Trainer.from_config(
        cfg, out_dir=tmp_path, evaluate=lambda samples: dict(scores), progress=False
    )
    assert resumed.resume()
    assert same({k: resumed.history[-1][k] for k in scores}, scores)


def unbounded(x: float, seed: int) -> dict[str, float]:
    return {"value": x, "ratio": math.inf if x == 0 else 1 / x, "undefined": math.nan}


def test_sweep_files_are_strict_and_resume_with_non_finite_values(tmp_path):
    path = tmp_path / "sweep.jsonl"
    first = sweep(unbounded, {"x": [0.0, 2.0]}, results=path)
    assert first.computed == 2
    for line in path.read_text().splitlines():
        strict_loads(line)
    again = sweep(unbounded, {"x": [0.0, 2.0, math.inf]}, results=path)
    assert (again.computed, again.loaded) == (1, 2)
    assert [r["ratio"] for r in again.rows] == [math.inf, 0.5, 0.0]
    assert all(math.isnan(r["undefined"]) for r in again.rows)
    assert again.rows[2]["x"] == math.inf  # a non-finite parameter is one point, found again
    assert sweep(unbounded, {"x": [math.inf]}, results=path).computed == 0


def legacy(x: float, seed: int) -> dict[str, float]:
    return {"reverse_kl": math.inf if x > 0 else 0.5, "modes_covered": 0}


def test_sweep_appends_to_and_resumes_a_file_with_bare_infinity(tmp_path):
    # a results file as sweeps wrote it before the convention (json.dumps' default
    # allow_nan=True: bare Infinity), like the mode-coverage results of earlier commits
    path = tmp_path / "results.jsonl"
    sweep(legacy, {"x": [0.0, 1.0, 2.0]}, seeds=2, results=path)
    old = [json.dumps(loads(line)) for line in path.read_text().splitlines()]
    path.write_text("".join(line + "\n" for line in old))
    assert sum("Infinity" in line for line in old) == 4

    def never(x: float, seed: int) -> None:
        raise AssertionError("a finished point was computed again")

    name = f"{legacy.__module__}.{legacy.__qualname__}"
    loaded = sweep(never, {"x": [0.0, 1.0, 2.0]}, seeds=2, results=path, name=name)
    assert (loaded.computed, loaded.loaded) == (0, 6)
    assert [r["reverse_kl"] for r in loaded.rows] == [0.5, 0.5] + [math.inf] * 4

    grown = sweep(legacy, {"x": [0.0, 1.0, 2.0, 3.0]}, seeds=2, results=path)
    assert (grown.computed, grown.loaded) == (2, 6)
    lines = path.read_text().splitlines()
    assert lines[: len(old)] == old  # appended to, not rewritten
    for line in lines[len(old) :]:
        assert strict_loads(line)["result"]["reverse_kl"] == "inf"
    resumed = sweep(never, {"x": [0.0, 1.0, 2.0, 3.0]}, seeds=2, results=path, name=name)
    assert (resumed.computed, resumed.loaded) == (0, 8)
    assert [r["reverse_kl"] for r in resumed.rows] == [r["reverse_kl"] for r in grown.rows]
