"""Fault injection: bad inputs, broken files and failing disks, each answered cleanly.

Every case here is also a row of the bad-input table in ``docs/errors.md``: the table
is rendered from :data:`CASES` (``python tests/test_faults.py`` rewrites it) and
:func:`test_the_error_table_in_the_docs_is_rendered_from_these_cases` fails when the two
drift apart.  A command-line case passes when ``gamedyn`` exits with status 2 (or 1 for
a diverged run) and prints exactly one line ``gamedyn: ...`` holding the expected
words, with no traceback; an API case when the expected exception names the argument.
"""

from __future__ import annotations

import errno
import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "errors.md"
BEGIN, END = "<!-- cases: begin -->", "<!-- cases: end -->"

SMALL_TOML = (
    "steps = 6\nbatch_size = 16\nlatent_dim = 4\neval_every = 3\neval_samples = 50\n"
    "checkpoint_every = 3\nlog_every = 3\n[generator]\nwidth = 8\n[discriminator]\nwidth = 8\n"
    "[optimizer]\nlr = 0.001\n"
)


@dataclass(frozen=True)
class Case:
    """One bad input or fault and the answer gamedyn gives it."""

    id: str
    surface: str  # "command line", "Python API" or "training run"
    fault: str  # what goes wrong, in words
    answer: str  # the words the answer must hold (checked), or what happens (scenarios)
    argv: tuple[str, ...] = ()  # command-line cases: {placeholders} from the `world` fixture
    call: Callable[[dict[str, Path]], Any] | None = None  # API cases
    error: type[BaseException] = ValueError
    status: int = 2


CASES: list[Case] = []
"""Every case of this module, in the order of the table in docs/errors.md."""


def cli(id: str, fault: str, answer: str, *argv: str, status: int = 2) -> Case:
    CASES.append(Case(id, "command line", fault, answer, argv=argv, status=status))
    return CASES[-1]


def api(
    id: str,
    fault: str,
    answer: str,
    call: Callable[[dict[str, Path]], Any],
    error: type[BaseException] = ValueError,
) -> Case:
    CASES.append(Case(id, "Python API", fault, answer, call=call, error=error))
    return CASES[-1]


def scenario(
    fault: str, answer: str, surface: str = "training run"
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a fault-injection test (a run, a sweep, a report) as a row of the table."""

    def register(test: Callable[..., None]) -> Callable[..., None]:
        CASES.append(Case(test.__name__, surface, fault, answer))
        return test

    return register


# -- a small world of files ----------------------------------------------------------------


def _small_trainer(out: Path | None, **changes: Any) -> Any:
    import tomllib

    from gan_models import TrainConfig, Trainer

    config = TrainConfig.from_dict(tomllib.loads(SMALL_TOML)).replace(**changes)
    return Trainer.from_config(config, out_dir=out, progress=False, stream=_Sink())


class _Sink:
    """A stream that keeps what is written (the trainer's progress lines and notes)."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _crafted(source: Path, target: Path, **changes: Any) -> Path:
    """A copy of the checkpoint ``source`` with some entries changed (None: removed)."""
    state = torch.load(source, weights_only=True)
    for key, value in changes.items():
        if value is None:
            state.pop(key)
        else:
            state[key] = value
    target.mkdir(parents=True, exist_ok=True)
    torch.save(state, target / "checkpoint.pt")
    return target


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files the cases refer to by name (``{toml}``, ``{run}``, ...)."""
    root = tmp_path_factory.mktemp("world")
    w: dict[str, Path] = {"root": root}
    w["toml"] = root / "run.toml"
    w["toml"].write_text(SMALL_TOML)
    w["cudax"] = root / "cudax.toml"
    w["cudax"].write_text(SMALL_TOML.replace("steps = 6", 'device = "cudax"\nsteps = 6'))
    w["latin1"] = root / "latin1.toml"
    w["latin1"].write_bytes(b"# caf\xe9\n" + SMALL_TOML.encode())
    w["lr2"] = root / "lr2.toml"
    w["lr2"].write_text(SMALL_TOML.replace("lr = 0.001", "lr = 0.002"))
    w["file"] = root / "a-file"
    w["file"].write_text("not a folder\n")
    w["run"] = root / "run"
    _small_trainer(w["run"]).train()
    ckpt = w["run"] / "checkpoint.pt"
    w["ckpt"] = ckpt
    w["dir_ckpt"] = root / "dir_ckpt"
    (w["dir_ckpt"] / "checkpoint.pt").mkdir(parents=True)
    w["random"] = root / "random"
    w["random"].mkdir()
    (w["random"] / "checkpoint.pt").write_bytes(os.urandom(2000))
    w["truncated"] = root / "truncated"
    w["truncated"].mkdir()
    (w["truncated"] / "checkpoint.pt").write_bytes(ckpt.read_bytes()[:3000])
    w["foreign"] = root / "foreign"
    w["foreign"].mkdir()
    torch.save({"weights": torch.zeros(3)}, w["foreign"] / "checkpoint.pt")
    w["wide"] = root / "wide"
    wide = _small_trainer(w["wide"], generator__width=12)
    wide.save()
    w["wide_bare"] = _crafted(w["wide"] / "checkpoint.pt", root / "wide_bare", config="")
    w["nan"] = _crafted(
        ckpt,
        root / "nan",
        params=[
            torch.full_like(p, float("nan")) for p in torch.load(ckpt, weights_only=True)["params"]
        ],
    )
    w["badstep"] = _crafted(ckpt, root / "badstep", step=2.5)
    w["nokey"] = _crafted(ckpt, root / "nokey", rule_state=None)
    w["badconfig"] = _crafted(ckpt, root / "badconfig", config='{"seed": ')
    w["strparams"] = _crafted(ckpt, root / "strparams", params="abc")
    w["spectra"] = root / "spectra.jsonl"
    w["spectra"].write_text(
        '{"step": 0, "jacobian": {"magnitude": [[1.0, 0.5]]}, "hessian": {"generator": [1.0]}}\n'
        '{"step": 5, "jacobian": {"magnitude": [[1.0]]}, "hessian": {"generator": [1.0]}}\n'
    )
    w["spectra_step"] = root / "spectra_step.jsonl"
    w["spectra_step"].write_text('{"step": "5", "jacobian": {}, "hessian": {}}\n')
    return w


def _format(argv: tuple[str, ...], world: dict[str, Path]) -> list[str]:
    return [a.format(**{k: str(v) for k, v in world.items()}) for a in argv]


def _one_line(err: str) -> str:
    # progress lines ("step 3/6 | ...") and notes ("note: ...") may come before it
    lines = [
        line
        for line in err.splitlines()
        if line.strip() and not line.startswith(("note: ", "step "))
    ]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# -- the command line ------------------------------------------------------------------------

cli(
    "out-is-a-file",
    "`train --out` names a file",
    "is a file, expected a folder",
    "train",
    "{toml}",
    "--out",
    "{file}",
)
cli(
    "out-parent-is-a-file",
    "`train --out` inside a file (cannot be created)",
    "--out: cannot create the folder",
    "train",
    "{toml}",
    "--out",
    "{file}/sub",
)
cli(
    "checkpoint-is-a-folder",
    "`checkpoint.pt` in the output folder is a folder",
    "is a folder, where the run writes a file",
    "train",
    "{toml}",
    "--out",
    "{dir_ckpt}",
)
cli(
    "device-malformed",
    "`train --device cuda:abc`",
    "device: expected 'auto', 'cpu' or 'cuda[:N]', got 'cuda:abc'",
    "train",
    "{toml}",
    "--out",
    "{root}/o1",
    "--device",
    "cuda:abc",
)
cli(
    "device-missing",
    "`train --device cuda:99` (no such CUDA device)",
    "device: 'cuda:99' requested but",
    "train",
    "{toml}",
    "--out",
    "{root}/o1",
    "--device",
    "cuda:99",
)
cli(
    "device-toml",
    'TOML `device = "cudax"`',
    "device: expected 'auto', 'cpu' or 'cuda[:N]', got 'cudax'",
    "train",
    "{cudax}",
    "--out",
    "{root}/o1",
)
cli(
    "seed-negative",
    "`train --seed -1`",
    "seed: expected an int in [0, 2**62], got -1",
    "train",
    "{toml}",
    "--out",
    "{root}/o1",
    "--seed",
    "-1",
)
cli(
    "seed-huge",
    "`train --seed 10**30`",
    "seed: expected an int in [0, 2**62], got 1000000000000000000000000000000",
    "train",
    "{toml}",
    "--out",
    "{root}/o1",
    "--seed",
    str(10**30),
)
cli(
    "toml-not-utf8",
    "a TOML file that is not UTF-8",
    "latin1.toml' is not UTF-8 text (byte 5)",
    "train",
    "{latin1}",
    "--out",
    "{root}/o1",
)
cli(
    "resume-random-bytes",
    "resuming a `checkpoint.pt` of random bytes",
    "is not a readable checkpoint",
    "train",
    "{toml}",
    "--out",
    "{random}",
)
cli(
    "resume-truncated",
    "resuming a truncated checkpoint",
    "is not a readable checkpoint",
    "train",
    "{toml}",
    "--out",
    "{truncated}",
)
cli(
    "resume-foreign",
    "resuming a torch file that is not a gamedyn checkpoint",
    "is not a gamedyn checkpoint",
    "train",
    "{toml}",
    "--out",
    "{foreign}",
)
cli(
    "resume-other-network",
    "resuming a checkpoint of another network width",
    "was trained with another configuration (generator.width: 12 -> 8)",
    "train",
    "{toml}",
    "--out",
    "{wide}",
)
cli(
    "resume-other-sizes",
    "resuming a checkpoint of other networks that stores no configuration",
    "parameter sizes [",
    "train",
    "{toml}",
    "--out",
    "{wide_bare}",
)
cli(
    "resume-other-config",
    "resuming with another learning rate (a training-relevant key)",
    "was trained with another configuration (optimizer.lr: 0.001 -> 0.002)",
    "train",
    "{lr2}",
    "--out",
    "{run}",
)
cli(
    "resume-nan-params",
    "resuming a checkpoint whose parameters are NaN",
    "checkpoint: its parameters hold NaN or Inf",
    "train",
    "{toml}",
    "--out",
    "{nan}",
)
cli(
    "resume-step-not-int",
    "resuming a checkpoint whose step is 2.5",
    "checkpoint: 'step' must be an int >= 0, got 2.5",
    "train",
    "{toml}",
    "--out",
    "{badstep}",
)
cli(
    "resume-params-string",
    'resuming a checkpoint whose params are `"abc"`',
    "checkpoint: 'params' must be 2 float tensors of sizes [",
    "train",
    "{toml}",
    "--out",
    "{strparams}",
)
cli(
    "spectrum-params-string",
    'spectrum of a checkpoint whose params are `"abc"`',
    "expected one parameter tensor per player (generator, discriminator)",
    "spectrum",
    "{strparams}",
)
cli(
    "resume-missing-key",
    "resuming a checkpoint without its rule state",
    "checkpoint: it lacks 'rule_state'",
    "train",
    "{toml}",
    "--out",
    "{nokey}",
)
cli(
    "resume-bad-stored-config",
    "resuming a checkpoint whose stored configuration is not JSON",
    "its stored configuration is not a JSON mapping",
    "train",
    "{toml}",
    "--out",
    "{badconfig}",
)
cli(
    "report-device",
    "`report --device cudax`",
    "device: expected 'auto', 'cpu' or 'cuda[:N]', got 'cudax'",
    "report",
    "--quick",
    "--device",
    "cudax",
    "--out",
    "{root}/report-device",
)
cli(
    "report-out-is-a-file",
    "`report --out` names a file",
    "out: expected a folder",
    "report",
    "--quick",
    "--studies",
    "dirac",
    "--out",
    "{file}",
)
cli(
    "report-out-unwritable",
    "`report --out` cannot be created",
    "out: cannot write in",
    "report",
    "--quick",
    "--studies",
    "dirac",
    "--out",
    "{file}/sub",
)


cli(
    "spectrum-empty-name",
    "`spectrum ''`",
    "GAME|CHECKPOINT: expected a game name",
    "spectrum",
    "",
)
cli(
    "spectrum-overflowing-point",
    "`spectrum dirac:loss=mle --point 40 -40` (the field overflows there)",
    "--point: the Jacobian holds 2 non-finite entries (NaN or Inf)",
    "spectrum",
    "dirac:loss=mle",
    "--point",
    "40",
    "-40",
)
cli(
    "stability-overflowing-point",
    "`stability dirac:loss=mle --point 40 -40`",
    "--point: the Jacobian holds 2 non-finite entries (NaN or Inf)",
    "stability",
    "dirac:loss=mle",
    "--point",
    "40",
    "-40",
)
cli(
    "spectrum-tiny-std",
    "`spectrum function_space:std=1e-300` (a density float64 cannot hold)",
    "function_space: stds: the mixture's density is not representable on this grid",
    "spectrum",
    "function_space:std=1e-300",
)
cli(
    "spectrum-dense-too-large",
    "`spectrum CKPT --dense` above `--max-dense` (an n x n matrix)",
    "--dense: the checkpoint's game has n = ",
    "spectrum",
    "{run}",
    "--dense",
    "--max-dense",
    "10",
)
cli(
    "spectrum-nan-params",
    "`spectrum` of a checkpoint whose parameters are NaN",
    "its parameters hold NaN, Inf or non-floats",
    "spectrum",
    "{nan}",
)
cli(
    "spectrum-step-not-int",
    "`spectrum` of a checkpoint whose step is 2.5",
    "'step' must be an int >= 0, got 2.5",
    "spectrum",
    "{badstep}",
)
cli(
    "spectrum-bad-stored-config",
    "`spectrum` of a checkpoint whose stored configuration is not JSON",
    "its stored configuration is not valid JSON",
    "spectrum",
    "{badconfig}",
)
cli(
    "spectrum-batch-seed-overflow",
    "`spectrum CKPT --batch-seed 10**30`",
    "--batch-seed: expected an int in [0, 2**63), got 1000000000000000000000000000000",
    "spectrum",
    "{run}",
    "--batch-seed",
    str(10**30),
)
cli(
    "spectrum-log-bad-record",
    "`spectrum-log` of a record whose eigenvalue is not a pair",
    "line 2: 'jacobian.magnitude' must be a list of [re, im] number pairs",
    "spectrum-log",
    "{spectra}",
)
cli(
    "spectrum-log-bad-step",
    "`spectrum-log` of a record whose step is a string",
    "line 1: 'step' must be an int >= 0, got '5'",
    "spectrum-log",
    "{spectra_step}",
)


def _cli_cases() -> list[Case]:
    return [c for c in CASES if c.surface == "command line"]


@pytest.mark.parametrize("case", _cli_cases(), ids=lambda c: c.id)
def test_cli_case(case: Case, world: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from analyses.cli import main

    argv = _format(case.argv, world)
    before = {p: p.stat().st_mtime_ns for p in world["root"].rglob("*") if p.is_file()}
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's own errors
        status = int(exit.code or 0)
    captured = capsys.readouterr()
    assert status == case.status, captured.err
    line = _one_line(captured.err)
    assert line.startswith("gamedyn: error: ") and case.answer in line, line
    after = {p: p.stat().st_mtime_ns for p in world["root"].rglob("*") if p.is_file()}
    assert {p: t for p, t in after.items() if p in before} == before  # nothing was touched


# -- the Python API --------------------------------------------------------------------------


def _load(path: Path) -> Any:
    from gan_models import load_checkpoint

    return load_checkpoint(path)


def _resume(path: Path, **kwargs: Any) -> Any:
    return _small_trainer(path).resume(**kwargs)


api(
    "api-resume-other-config",
    "`Trainer.resume()` on a checkpoint of another seed",
    "was trained with another configuration (seed: 0 -> 5)",
    lambda w: _small_trainer(w["run"], seed=5).resume(),
)
api(
    "api-load-folder-checkpoint",
    "`load_checkpoint` on a `checkpoint.pt` that is a folder",
    "checkpoint: no such file",
    lambda w: _load(w["dir_ckpt"] / "checkpoint.pt"),
    FileNotFoundError,
)
api(
    "api-resolve-device",
    '`resolve_device("cudax")`',
    "device: expected 'auto', 'cpu' or 'cuda[:N]', got 'cudax'",
    lambda w: __import__("gan_models").resolve_device("cudax"),
)
api(
    "api-seed-overflow",
    "`TrainConfig.replace(seed=2**64)`",
    "seed: expected an int in [0, 2**62]",
    lambda w: __import__("gan_models").TrainConfig().replace(seed=2**64),
)


def _dirac_mle_at_40() -> Any:
    from analyses import classify
    from games import DiracGAN, as_params

    game = DiracGAN(loss="mle")
    return classify(game, as_params(game, [[40.0], [-40.0]]))


def _jacobian(**kwargs: Any) -> Any:
    from games import Bilinear, as_params, jacobian

    game = Bilinear.xy()
    return jacobian(game, as_params(game, [[0.0], [0.0]]), **kwargs)


api(
    "api-classify-overflow",
    "`classify(DiracGAN(loss='mle'), (40, -40))`",
    "point: the Jacobian holds 2 non-finite entries (NaN or Inf)",
    lambda w: _dirac_mle_at_40(),
)
api(
    "api-max-stable-step-empty",
    "`max_stable_step([])`",
    "eigenvalues: expected at least one eigenvalue, got none",
    lambda w: __import__("analyses").max_stable_step([]),
)
api(
    "api-jacobian-int-dtype",
    "`jacobian(..., dtype=torch.int64)`",
    "dtype: expected a real floating torch dtype",
    lambda w: _jacobian(dtype=torch.int64),
    TypeError,
)
api(
    "api-jacobian-complex-dtype",
    "`jacobian(..., dtype=torch.complex128)`",
    "dtype: expected a real floating torch dtype",
    lambda w: _jacobian(dtype=torch.complex128),
    TypeError,
)
api(
    "api-jacobian-bool-chunk",
    "`jacobian(..., chunk_size=True)`",
    "chunk_size: expected a positive int, got True",
    lambda w: _jacobian(chunk_size=True),
)
api(
    "api-checkpoint-game-nan",
    "`checkpoint_game` of a checkpoint whose parameters are NaN",
    "its parameters hold NaN, Inf or non-floats",
    lambda w: __import__("analyses").checkpoint_game(w["nan"]),
)


def _gan(latent_dim: int = 3, data_dim: int = 2, d_inputs: int = 2) -> Any:
    from games import ParameterizedGAN

    return ParameterizedGAN(
        torch.nn.Linear(3, 2),
        torch.nn.Linear(d_inputs, 1),
        torch.zeros(10, data_dim),
        latent_dim=latent_dim,
        batch_size=8,
    )


def _report(out: Path, seed: int) -> Any:
    from analyses.report import generate_report

    return generate_report(out, seed=seed, studies=["dirac"], quick=True)


api(
    "api-gan-latent-mismatch",
    "`ParameterizedGAN` whose latent_dim does not fit its generator",
    "latent_dim: the generator does not take latent codes of dimension 4",
    lambda w: _gan(latent_dim=4),
)
api(
    "api-gan-data-mismatch",
    "`ParameterizedGAN` whose data dimension differs from the generator's output",
    "data: the samples have shape (5,) per sample, the generator makes (2,)",
    lambda w: _gan(data_dim=5, d_inputs=5),
)
api(
    "api-gan-discriminator-mismatch",
    "`ParameterizedGAN` whose discriminator does not take the samples",
    "discriminator: it does not take samples of shape (2,)",
    lambda w: _gan(d_inputs=3),
)
api(
    "api-report-seed",
    "`generate_report(seed=2**70)`",
    "seed: expected an int in [0, 2**62]",
    lambda w: _report(w["root"] / "report", 2**70),
)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.surface == "Python API"], ids=lambda c: c.id
)
def test_api_case(case: Case, world: dict[str, Path]) -> None:
    assert case.call is not None
    with pytest.raises(case.error) as info:
        case.call(world)
    assert case.answer in str(info.value) and "\n" not in str(info.value)


# -- training runs: resume, logs, temporary files, disks --------------------------------------


def _log_steps(folder: Path) -> list[int]:
    text = (folder / "log.jsonl").read_text()
    assert text.endswith("\n")
    return [json.loads(line)["step"] for line in text.splitlines() if "event" not in line]


def _final_params(folder: Path) -> list[torch.Tensor]:
    return list(torch.load(folder / "checkpoint.pt", weights_only=True)["params"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[torch.Tensor]:
    """The final parameters of an uninterrupted 6-step run."""
    folder = tmp_path_factory.mktemp("reference")
    _small_trainer(folder).train()
    return _final_params(folder)


@scenario(
    "a log line cut short (a kill or a full disk between write and flush)",
    "dropped on resume with a note naming the line; the run resumes and ends bit-exact",
)
def test_truncated_log_line_is_repaired(tmp_path: Path, reference: list[torch.Tensor]) -> None:
    first = _small_trainer(tmp_path)
    first.train(stop_after=4)  # the checkpoint is at step 3
    with open(tmp_path / "log.jsonl", "ab") as handle:
        handle.write(b'{"step": 5, "loss_generator": 0.69')  # no newline: cut short
    number = len((tmp_path / "log.jsonl").read_bytes().split(b"\n"))
    second = _small_trainer(tmp_path)
    second.train()
    assert f"cut-short line(s) of {str(tmp_path / 'log.jsonl')!r} (line {number})" in (
        second.stream.text
    )
    assert _log_steps(tmp_path) == [0, 3, 6]  # one record per step (log and evaluation merged)
    for a, b in zip(_final_params(tmp_path), reference):
        assert torch.equal(a, b)


@scenario(
    "resuming with another training-relevant configuration, then allowing it",
    "refused naming the keys; `--allow-config-change` resumes and records the change in "
    "the log and the checkpoint",
)
def test_config_change_is_refused_then_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from analyses.cli import main

    base, other = tmp_path / "a.toml", tmp_path / "b.toml"
    base.write_text(SMALL_TOML)
    other.write_text(
        SMALL_TOML.replace("lr = 0.001", "lr = 0.002").replace("steps = 6", "steps = 9")
    )
    out = str(tmp_path / "out")
    assert main(["train", str(base), "--out", out]) == 0
    cadence = SMALL_TOML.replace("log_every = 3", "log_every = 1").replace("steps = 6", "steps = 7")
    (tmp_path / "c.toml").write_text(cadence)  # cadence and length are not training-relevant
    assert main(["train", str(tmp_path / "c.toml"), "--out", out]) == 0
    capsys.readouterr()
    assert main(["train", str(other), "--out", out]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "(optimizer.lr: 0.001 -> 0.002)" in line and "--allow-config-change" in line
    assert main(["train", str(other), "--out", out, "--allow-config-change"]) == 0
    state = torch.load(tmp_path / "out" / "checkpoint.pt", weights_only=True)
    assert json.loads(state["config_changes"]) == [
        {"step": 7, "changes": {"optimizer.lr": [0.001, 0.002]}}
    ]
    assert json.loads(state["config"])["optimizer"]["lr"] == 0.002 and state["step"] == 9
    events = [
        json.loads(line)
        for line in (tmp_path / "out" / "log.jsonl").read_text().splitlines()
        if "event" in line
    ]
    assert events == [
        {"event": "config_change", "step": 7, "changes": {"optimizer.lr": [0.001, 0.002]}}
    ]


@scenario(
    "resuming a checkpoint written before configuration hashes",
    "resumes with a note; a changed key it stores is still refused",
)
def test_old_checkpoint_without_hash_resumes(tmp_path: Path, world: dict[str, Path]) -> None:
    from gan_models import ConfigChanged

    old = _crafted(world["ckpt"], tmp_path / "old", config_hash=None, config_changes=None)
    trainer = _small_trainer(old, steps=9)
    assert trainer.resume() and trainer.step == 6
    assert "no configuration hash (written by an older gamedyn)" in trainer.stream.text
    with pytest.raises(ConfigChanged, match=r"\(seed: 0 -> 1\)"):
        _small_trainer(old, seed=1).resume()


@scenario(
    "a fresh start (`--no-resume`, or a kill before the first checkpoint) over an old run",
    "the old log, checkpoint and samples move to `OUT/previous/N/`; the new log holds one run",
)
def test_fresh_start_moves_the_old_run_aside(tmp_path: Path) -> None:
    _small_trainer(tmp_path).train()
    old_log = (tmp_path / "log.jsonl").read_text()
    fresh = _small_trainer(tmp_path)
    fresh.train(resume=False)
    assert (tmp_path / "previous" / "1" / "log.jsonl").read_text() == old_log
    assert (tmp_path / "previous" / "1" / "checkpoint.pt").is_file()
    assert _log_steps(tmp_path) == [0, 3, 6]
    # killed before its first checkpoint: a log, no checkpoint; the next run starts afresh
    (tmp_path / "checkpoint.pt").unlink()
    _small_trainer(tmp_path).train()
    assert (tmp_path / "previous" / "2" / "log.jsonl").is_file()
    assert _log_steps(tmp_path) == [0, 3, 6]


@scenario(
    "temporary checkpoint files left by a killed process",
    "removed at the next start (those of live processes are kept)",
)
def test_stale_temporary_files_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [
        tmp_path / f".checkpoint.pt.{dead.pid}.k3j9a_2q.tmp",
        tmp_path / f".checkpoint.pt.{dead.pid}.tmp",  # the name older versions used
        tmp_path / "samples" / f".step_0000003.pt.{dead.pid}.x1y2z3w4.tmp",
    ]
    live = tmp_path / f".checkpoint.pt.{os.getppid()}.abcdefgh.tmp"
    (tmp_path / "samples").mkdir(parents=True)
    for path in (*stale, live):
        path.write_bytes(b"partial")
    trainer = _small_trainer(tmp_path)
    trainer.train(stop_after=1)
    assert not any(p.exists() for p in stale) and live.exists()
    assert trainer.stream.text.count("removed the stale temporary file") == 3


@scenario(
    "a read-only output folder (or file system)",
    "one line before training starts: `--out: cannot write in ... (Read-only file system)`",
)
def test_read_only_folder_is_found_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from analyses.cli import main
    from gan_models import _runfiles

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    (tmp_path / "run.toml").write_text(SMALL_TOML)
    monkeypatch.setattr(_runfiles.tempfile, "mkstemp", refuse)
    assert main(["train", str(tmp_path / "run.toml"), "--out", str(tmp_path / "out")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("gamedyn: error: --out: cannot write in") and "Read-only" in line
    assert not (tmp_path / "out" / "log.jsonl").exists()  # nothing ran


@scenario(
    "the disk fills up during a checkpoint write (torch: `enforce fail at inline_container.cc`)",
    "one line saying the last checkpoint is intact and to rerun; the rerun ends bit-exact",
)
def test_full_disk_during_a_checkpoint_loses_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    reference: list[torch.Tensor],
) -> None:
    from analyses.cli import main
    from gan_models import _checkpoint

    real_save = torch.save
    calls = {"checkpoints": 0}

    def full_disk(obj: Any, path: Any, *args: Any, **kwargs: Any) -> None:
        if ".checkpoint.pt." in str(path):
            calls["checkpoints"] += 1
            if calls["checkpoints"] == 2:  # the step-6 checkpoint
                with open(path, "wb") as handle:
                    handle.write(b"PK\x03\x04 partial")
                raise RuntimeError(
                    "[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0"
                )
        real_save(obj, path, *args, **kwargs)

    (tmp_path / "run.toml").write_text(SMALL_TOML)
    argv = ["train", str(tmp_path / "run.toml"), "--out", str(tmp_path / "out")]
    monkeypatch.setattr(_checkpoint.torch, "save", full_disk)
    assert main(argv) == 2
    line = _one_line(capsys.readouterr().err)
    assert "checkpoint: cannot write" in line and "unexpected pos" in line
    assert "the last checkpoint is intact" in line and "rerun the same command" in line
    assert torch.load(tmp_path / "out" / "checkpoint.pt", weights_only=True)["step"] == 3
    assert not list((tmp_path / "out").glob(".*.tmp"))
    monkeypatch.setattr(_checkpoint.torch, "save", real_save)
    assert main(argv) == 0
    for a, b in zip(_final_params(tmp_path / "out"), reference):
        assert torch.equal(a, b)


@scenario(
    "losses become non-finite at a step that is not a log step (finite parameters)",
    "no checkpoint of that state is written: the run stops with the last good checkpoint",
)
def test_non_finite_losses_are_never_checkpointed(tmp_path: Path) -> None:
    from dynamics import RuleState, SimultaneousGD
    from gan_models import TrainingDiverged

    class BlowUpAt(SimultaneousGD):
        def step(self, game, params, state):  # type: ignore[no-untyped-def]
            params, new = super().step(game, params, state)
            if state.t + 1 == 6:
                params = tuple(p * 1e30 for p in params)
            return params, RuleState(new.t, new.buffers)

    trainer = _small_trainer(tmp_path, log_every=4)  # log steps 4, 8: not 6
    trainer.rule = BlowUpAt(1e-3)
    trainer.state = trainer.rule.init(trainer.game, trainer.params)
    with pytest.raises(TrainingDiverged, match="at step 6: the losses became NaN/Inf") as info:
        trainer.train()
    assert all(bool(torch.isfinite(p).all()) for p in trainer.params)  # finite parameters
    losses = [float(v) for v in trainer._eval_game.losses(trainer.params)]
    assert not all(math.isfinite(v) for v in losses)
    assert info.value.checkpoint == tmp_path / "checkpoint.pt"
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"] == 3


@scenario(
    "the run diverges before its first checkpoint (`gamedyn train`)",
    "exit 1 and one line: nothing was saved to resume from; change the configuration",
)
def test_divergence_before_any_checkpoint_is_stated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from analyses.cli import main

    (tmp_path / "div.toml").write_text(
        SMALL_TOML.replace("checkpoint_every = 3", "checkpoint_every = 5").replace(
            "lr = 0.001", 'rule = "sgd"\nlr = 1e30'
        )
    )
    assert main(["train", str(tmp_path / "div.toml"), "--out", str(tmp_path / "out")]) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("gamedyn: training diverged at step 1, before the first checkpoint")
    assert "nothing was saved to resume from" in line and "trainer.params" not in line
    assert not (tmp_path / "out" / "checkpoint.pt").exists()


@scenario(
    "a game at the edge of float64 (`spectrum zero_sum:p=1e308`)",
    "one consistent verdict: every bound computed without overflow (2/λ = 2e-308)",
    "analyses",
)
def test_a_game_at_the_edge_of_float64_gets_consistent_verdicts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from analyses.cli import main

    assert main(["spectrum", "zero_sum:p=1e308", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # J = [[1e308, 1], [-1, 1]]: eigenvalues 1e308 and 1 + O(1e-308), both real and > 0
    assert result["flow_stable"] and result["classification"] == "stable Nash"
    assert result["max_gd_step"] == pytest.approx(2e-308, rel=1e-12)  # 2/λ_max, not 0
    assert result["hessian_eigenvalues"]["x"] == [pytest.approx(1e308)]  # not inf


# -- spectra of large games ---------------------------------------------------------------


@scenario(
    "a dense Jacobian of a game above 512 parameters (the strategy probe)",
    "only the rows needed are built: the n x n identity (35 GB at n = 66,691) never is",
    "analyses",
)
def test_the_jacobian_probe_never_builds_the_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    from games import Bilinear, jacobian

    A = torch.randn(300, 280, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    game = Bilinear(A)
    point = (torch.randn(300, dtype=torch.float64), torch.randn(280, dtype=torch.float64))

    def no_eye(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("torch.eye called")

    monkeypatch.setattr(torch, "eye", no_eye)
    for method in ("auto", "loop"):
        J = jacobian(game, point, method=method).matrix
        # J = [[0, A], [-A^T, 0]] for l_x = x^T A y = -l_y (Bilinear's closed form)
        assert torch.allclose(J[:300, 300:], A) and torch.allclose(J[300:, :300], -A.T)
        assert float(J[:300, :300].abs().max()) == 0.0


@scenario(
    "ARPACK stops before every eigenvalue asked for converges",
    "`top_eigenvalues(..., partial=True)` returns the converged ones (true eigenvalues) "
    "with `requested`; `spectrum` prints them and warns how many of those asked for converged",
    "analyses",
)
def test_arpack_reports_how_many_converged(
    world: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    from analyses.spectra import eigenvalues, top_eigenvalues
    from games import Bilinear

    game = Bilinear(torch.randn(60, 60, generator=torch.Generator().manual_seed(0)).double())
    point = (torch.zeros(60, dtype=torch.float64), torch.zeros(60, dtype=torch.float64))
    partial = top_eigenvalues(game, point, 6, which="imaginary", maxiter=3, partial=True)
    assert partial.requested == 6 and 1 <= len(partial.values) < 6
    dense = eigenvalues(game, point).values
    for value in partial.values:  # each converged value is a true eigenvalue
        assert np.min(np.abs(dense - value)) < 1e-6 * np.abs(dense).max()
    full = top_eigenvalues(game, point, 6, which="imaginary")
    assert full.requested is None and len(full.values) == 6

    from analyses import spectra
    from analyses.cli import main

    def short(*args: Any, **kwargs: Any) -> Any:  # ARPACK stopping after one of three
        assert kwargs["partial"] is True
        found = top_eigenvalues(*args, **kwargs)
        return spectra.Spectrum(found.values[:1], found.products, "arpack", 3)

    monkeypatch.setattr(spectra, "top_eigenvalues", short)
    assert main(["spectrum", str(world["run"]), "--k", "3"]) == 0
    out = capsys.readouterr().out
    assert "warning     ARPACK converged 1 of the 3 eigenvalues asked for" in out


# -- the report's files -------------------------------------------------------------------


@scenario(
    "links planted where the report writes (its old fixed temporary name, the target)",
    "never followed: a unique temporary file and `os.replace`; the linked files are untouched",
    "report",
)
def test_report_writes_never_follow_planted_links(tmp_path: Path) -> None:
    from analyses.report.folder import _write_atomic

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / "summary.json.tmp").symlink_to(victim)  # the name older versions used
    (tmp_path / "index.html").symlink_to(victim)
    _write_atomic(tmp_path / "summary.json", "{}\n")
    _write_atomic(tmp_path / "index.html", "<html></html>\n")
    assert victim.read_text() == "precious\n"
    assert (tmp_path / "summary.json").read_text() == "{}\n"
    assert not (tmp_path / "index.html").is_symlink()
    assert (tmp_path / "index.html").read_text() == "<html></html>\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "index.html",
        "summary.json",
        "summary.json.tmp",
        "victim.txt",
    ]  # no temporary file left behind


# -- sweeps --------------------------------------------------------------------------------


def crash_at_two(x: float, seed: int) -> dict[str, float]:
    """A sweep function whose point x = 2 kills its worker process."""
    if x == 2:
        os._exit(1)
    return {"y": x * x, "ratio": math.inf if x == 0 else 1 / x, "nan": math.nan}


@scenario(
    "a sweep point that kills its worker process (`BrokenProcessPool`)",
    "recorded as an error of that point; the others are computed in a fresh pool; a rerun "
    "completes with nothing to compute; every line is strict JSON",
    "sweep",
)
def test_a_crashing_sweep_worker_is_recorded_and_the_sweep_completes(tmp_path: Path) -> None:
    import concurrent.futures as cf
    import multiprocessing

    from analyses.sweep import sweep

    path = tmp_path / "results.jsonl"
    grid = {"x": [0.0, 1.0, 2.0, 3.0, 4.0]}
    context = multiprocessing.get_context("fork")
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        result = sweep(crash_at_two, grid, results=path, executor=pool)
    status = {row["x"]: row["status"] for row in result.rows}
    assert status == {0.0: "ok", 1.0: "ok", 2.0: "error", 3.0: "ok", 4.0: "ok"}
    assert {row["x"]: row.get("y") for row in result.rows if row["status"] == "ok"} == {
        0.0: 0.0,
        1.0: 1.0,
        3.0: 9.0,
        4.0: 16.0,
    }

    def refuse(token: str) -> None:  # strict JSON: no bare NaN/Infinity
        raise AssertionError(f"bare {token} in {str(path)!r}")

    records = [json.loads(line, parse_constant=refuse) for line in path.read_text().splitlines()]
    errors = [r for r in records[1:] if r["status"] == "error"]
    assert len(errors) == 1 and errors[0]["params"] == {"x": 2.0}
    assert errors[0]["error"]["type"] == "BrokenProcessPool"
    assert records[1:] and all(
        r["status"] == "error" or r["result"]["nan"] == "nan" for r in records[1:]
    )
    again = sweep(crash_at_two, grid, results=path)  # nothing left: no pool needed
    assert again.computed == 0 and again.loaded == 5


# -- the table in the docs -------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table() -> str:
    """The Markdown table of :data:`CASES` that docs/errors.md holds between its markers."""
    rows = [
        "| # | where | bad input or fault | answer |",
        "| --- | --- | --- | --- |",
    ]
    for number, case in enumerate(CASES, 1):
        checked = case.surface in ("command line", "Python API")
        answer = f"`{case.answer}`" if checked else case.answer
        if case.surface == "command line":
            answer = f"exit {case.status}: {answer}"
        elif case.surface == "Python API":
            answer = f"{case.error.__name__}: {answer}"
        rows.append(f"| {number} | {case.surface} | {_cell(case.fault)} | {_cell(answer)} |")
    return "\n".join(rows)


def _spliced(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{render_table()}\n{END}{tail}"


def test_the_error_table_in_the_docs_is_rendered_from_these_cases() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    assert text == _spliced(text), "docs/errors.md is stale: run `python tests/test_faults.py`"
    assert len({c.id for c in CASES}) == len(CASES)


if __name__ == "__main__":  # rewrite the table in docs/errors.md
    DOC.write_text(_spliced(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"{DOC}: {len(CASES)} cases")
