"""Image displays (grid of samples, mode histogram) and the figures of an image run."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest
import torch
from scipy.stats import entropy

matplotlib.use("Agg")

from analyses import ImageGridDisplay, ModeHistogramDisplay, plot_run, read_run
from analyses.cli import main


def test_grid_places_each_image_in_its_cell_in_display_range():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(5, 1, 8, 8))
    grid = ImageGridDisplay.from_samples(images.reshape(5, 64), rows=2, cols=3)
    assert grid.mosaic.shape == (2 * 9 + 1, 3 * 9 + 1) and grid.shown == 5
    for i in range(5):
        r, c = divmod(i, 3)
        cell = grid.mosaic[1 + 9 * r : 9 + 9 * r, 1 + 9 * c : 9 + 9 * c]
        np.testing.assert_allclose(cell, (images[i, 0] + 1) / 2)  # [-1, 1] -> [0, 1]
    np.testing.assert_array_equal(grid.mosaic[10:18, 19:27], 0.0)  # the sixth cell is empty
    assert np.all(grid.mosaic[0, :] == 0.5) and np.all(grid.mosaic[:, 9] == 0.5)  # borders


def test_grid_colour_images_keep_their_channels_as_rgb_and_clip_for_display():
    x = torch.zeros(1, 3, 8, 8)
    x[0, 0] = 1.0  # red channel on
    x[0, 2] = -3.0  # out of range: clipped to -1 -> 0
    grid = ImageGridDisplay.from_samples(x, channels=3, rows=1, cols=1)
    cell = grid.mosaic[1:9, 1:9]
    assert grid.mosaic.shape == (10, 10, 3)
    np.testing.assert_array_equal(cell[..., 0], 1.0)
    np.testing.assert_array_equal(cell[..., 1], 0.5)
    np.testing.assert_array_equal(cell[..., 2], 0.0)
    display = grid.plot()
    assert display.image_.get_array().shape == (10, 10, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"samples": np.zeros((2, 63))}, r"^samples: expected a non-empty \(n, 64\)"),
        ({"samples": np.full((1, 64), np.nan)}, "^samples: expected finite values"),
        ({"samples": np.zeros((1, 64)), "channels": 2}, "^channels: expected 1"),
        ({"samples": np.zeros((1, 64)), "rows": 0}, "^rows: expected an int >= 1"),
    ],
)
def test_grid_bad_input_names_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ImageGridDisplay.from_samples(**kwargs)


@pytest.mark.parametrize(
    "counts", [[5, 5, 5, 5], [20, 0, 0, 0], [3, 0, 7, 1, 9], list(range(1000))]
)
def test_histogram_kl_and_modes_hit_agree_with_scipy(counts):
    display = ModeHistogramDisplay.from_histogram(counts)
    c = np.asarray(counts, dtype=float)
    assert display.reverse_kl == pytest.approx(entropy(c / c.sum(), np.ones_like(c)), abs=1e-12)
    assert display.modes_hit == int(np.count_nonzero(c))
    assert list(c[display.order]) == sorted(c, reverse=True)
    display.plot()  # bars up to 30 modes, a filled step curve beyond


def test_histogram_closed_forms_and_bad_counts():
    assert ModeHistogramDisplay.from_histogram([7] * 10).reverse_kl == pytest.approx(0.0)
    one = ModeHistogramDisplay.from_histogram([0] * 999 + [4])
    assert one.reverse_kl == pytest.approx(np.log(1000)) and one.modes_hit == 1
    for bad in ([1], [0, 0], [1, -1], [[1, 2]], [0.5, 1]):
        with pytest.raises(ValueError, match=r"^counts: expected a 1-D array"):
            ModeHistogramDisplay.from_histogram(bad)


def _json(capsys, argv):
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_the_command_line_chain_on_a_convolutional_run(tmp_path, monkeypatch, capsys):
    # gamedyn train -> path-angle -> plot on a DCGAN run
    monkeypatch.setenv("GAMEDYN_CACHE", str(tmp_path / "cache"))  # the digit classifier
    run = tmp_path / "run"
    config = tmp_path / "tiny.toml"
    config.write_text(
        "steps = 4\nbatch_size = 8\nlatent_dim = 4\neval_every = 2\neval_samples = 50\n"
        "log_every = 2\n"
        '[data]\nname = "stacked_digits"\noptions = { channels = 3 }\n'
        '[generator]\nkind = "dcgan"\nwidth = 4\n[discriminator]\nkind = "dcgan"\nwidth = 4\n'
        "[checkpoint]\nevery = 2\nkeep_every = 2\n"
    )
    assert main(["train", str(config), "--out", str(run)]) == 0
    capsys.readouterr()
    kept = run / "checkpoints"
    a, b = kept / "step_0000000.pt", kept / "step_0000004.pt"
    angle = _json(capsys, ["path-angle", str(a), str(b), "--json"])
    from gan_models import load_checkpoint

    distance = torch.cat(
        [
            (q - p).reshape(-1)
            for p, q in zip(load_checkpoint(a)["params"], load_checkpoint(b)["params"])
        ]
    ).norm()
    assert angle["distance"] == pytest.approx(float(distance), rel=1e-6)
    record = read_run(run)
    assert record.image_channels == 3 and record.evaluations == []
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in record.image_evaluations] == sorted(
        {r["step"] for r in logged if "modes_covered" in r}
    )
    written = plot_run(run, tmp_path / "figures", formats=("png",))
    assert set(written) == {"samples", "coverage", "mode_histogram", "losses"}
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in written.values() for p in f)
    with pytest.raises(ValueError, match="has no data for mode_hopping"):
        plot_run(run, tmp_path / "figures", figures=["mode_hopping"])
