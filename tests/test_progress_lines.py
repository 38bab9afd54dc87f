"""Progress lines of the long analyses, on a captured stream: ``sweep(progress=True)``
(done / total, ETA, the completion announced once) and ``gamedyn report`` (each study's
start and end with the elapsed time, the completion announced once)."""

from __future__ import annotations

import io
import re

import pytest

from analyses import sweep
from analyses._progress import SweepProgress
from analyses.cli import main
from games.formatting import format_duration


def _square(x, seed):
    return {"y": x * x + seed}


def _fails_at_two(x, seed):
    if x == 2:
        raise ValueError("two")
    return {"y": x}


class _Clock:
    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_sweep_progress_eta_from_a_known_clock() -> None:
    # each clock reading advances 10 s: start() reads it once, each line once, so the
    # k-th computed point finishes 10 k s after the start: 10 s a point, ETA 10 s a point left
    stream = io.StringIO()
    lines = SweepProgress(
        "f", total=5, loaded=1, parameters=("x",), stream=stream, clock=_Clock(10)
    )
    lines.start()
    for done in range(2, 6):
        lines(done, 5, {"x": done, "seed": 0, "status": "ok", "seconds": 0.5})
    lines.finish()
    assert lines.finish() is None  # announced once
    out = stream.getvalue().splitlines()
    assert out[0] == "sweep f: 4 of 5 points to compute (1 loaded from the results file)"
    assert out[1] == "[2/5] 40% | x=2, seed=0: ok in 0.50 s | 10s/point | ETA 30s"
    assert out[3] == "[4/5] 80% | x=4, seed=0: ok in 0.50 s | 10s/point | ETA 10s"
    assert out[4] == "[5/5] 100% | x=5, seed=0: ok in 0.50 s | 10s/point"  # no ETA at the end
    assert out[5] == "sweep f: all 5 points done in 50s (4 computed, 1 loaded)"
    assert len(out) == 6


@pytest.mark.parametrize(
    "seconds, text", [(4.24, "4.2s"), (42, "42s"), (187, "3m07s"), (7500, "2h05m")]
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_sweep_prints_one_line_per_point_and_completes_once(tmp_path, capsys) -> None:
    path = tmp_path / "squares.jsonl"
    result = sweep(_square, {"x": [1, 2, 3]}, seeds=2, results=path, progress=True)
    assert result.computed == 6
    err = capsys.readouterr().err.splitlines()
    points = [line for line in err if line.startswith("[")]
    assert len(points) == 6 and len(set(err)) == len(err)  # no duplicate lines
    assert [re.match(r"\[(\d+)/6\]", line)[1] for line in points] == [str(k) for k in range(1, 7)]
    assert all(" ETA " in line for line in points[:-1]) and " ETA " not in points[-1]
    assert "x=1, seed=0: ok" in points[0] and "x=3, seed=1: ok" in points[-1]
    done = [line for line in err if "points done" in line]
    assert done == [err[-1]] and "(6 computed, 0 loaded)" in done[0]
    assert err[0] == f"sweep {result.function}: 6 of 6 points to compute"
    # the same sweep again: everything is loaded, nothing computed, one completion
    sweep(_square, {"x": [1, 2, 3]}, seeds=2, results=path, progress=True)
    again = capsys.readouterr().err.splitlines()
    assert len(again) == 2
    assert again[0].endswith("0 of 6 points to compute (6 loaded from the results file)")
    assert "all 6 points done" in again[1] and "(0 computed, 6 loaded)" in again[1]
    # the results file is what the callback-less sweep writes: one header and 6 records
    assert len(path.read_text().splitlines()) == 7


def test_sweep_progress_counts_errors_and_keeps_the_callback_api(capsys) -> None:
    sweep(_fails_at_two, {"x": [1, 2, 3]}, progress=True)
    err = capsys.readouterr().err.splitlines()
    assert any("x=2, seed=0: error" in line for line in err)
    assert err[-1].endswith("(3 computed, 0 loaded, 1 error)")
    calls = []
    sweep(_square, {"x": [1, 2]}, progress=lambda done, total, row: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]
    assert capsys.readouterr().err == ""  # a callback prints nothing of its own
    sweep(_square, {"x": [1]}, progress=False)
    assert capsys.readouterr().err == ""
    with pytest.raises(TypeError, match="progress: expected a callable, a bool or None"):
        sweep(_square, {"x": [1]}, progress="yes")  # type: ignore[arg-type]


def _seconds(text: str) -> float:
    """format_duration's text back in seconds."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?", text)
    assert match is not None and text, text
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return 3600 * hours + 60 * minutes + seconds


def test_report_lines_have_elapsed_time_and_complete_once(tmp_path, capsys, monkeypatch) -> None:
    from analyses.report import folder

    # two studies that take a known time and draw nothing: the lines, not the studies
    def study(seconds):
        def run(ctx, section):
            import time

            time.sleep(seconds)

        return run

    monkeypatch.setitem(folder._RUNNERS, "xy", study(0.3))
    monkeypatch.setitem(folder._RUNNERS, "ttur", study(0.2))
    out = tmp_path / "report"
    argv = ["report", "--quick", "--studies", "xy", "ttur", "--jobs", "1", "--out", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 5 and len(set(lines)) == 5
    assert re.fullmatch(r"\[1/2\] The x·y game.* \.\.\. \(elapsed \S+\)", lines[0])
    first = re.fullmatch(r"\[1/2\] done in ([\d.]+) s \(0 figures; elapsed (\S+)\)", lines[1])
    assert first is not None and float(first[1]) >= 0.3
    assert lines[2].startswith("[2/2] Two timescales") and "elapsed" in lines[2]
    second = re.fullmatch(r"\[2/2\] done in ([\d.]+) s \(0 figures; elapsed (\S+)\)", lines[3])
    assert second is not None and float(second[1]) >= 0.2
    # the report's clock, not each study's: it runs on across the studies
    elapsed = [_seconds(m) for m in re.findall(r"elapsed (\S+)\)", captured.err)]
    assert len(elapsed) == 4 and elapsed == sorted(elapsed)
    assert elapsed[3] >= 0.5 - 0.05
    # the completion: once, the last line, on one stream only
    everything = captured.out + captured.err
    assert everything.count("report written to") == 1
    assert lines[-1].startswith(f"report written to {out / 'index.html'}: ")
    assert "0 figures (PNG) and summary.json" in lines[-1]
    assert captured.out == ""
