"""The shipped configurations of the unrolled-GAN paper's 2-D experiment, loaded by name."""

from __future__ import annotations

import pytest

from analyses.cli import main
from gan_models import ConfigError, build_data, config_names, load_config

PAPER = ("plain_ring", "unrolled_ring", "plain_grid", "unrolled_grid")


def test_every_shipped_name_loads_with_the_papers_numbers():
    assert set(PAPER) <= set(config_names())
    for name in PAPER:
        config = load_config(name)
        # Metz et al. 2017, appendix A and the re-implementations (see the files' comments)
        assert (config.steps, config.batch_size, config.latent_dim) == (25_000, 512, 256)
        assert config.optimizer.lr == [1e-3, 1e-4] and config.optimizer.betas == [0.5, 0.999]
        assert config.optimizer.rule == "adam" and config.optimizer.alternating
        for net in (config.generator, config.discriminator):
            assert (net.depth, net.width, net.activation) == (2, 128, "relu")
            assert (net.init, net.gain) == ("orthogonal", 0.8)
        assert config.game.loss == "non_saturating" and config.game.regularizer == "none"
        assert config.unroll.steps == (10 if name.startswith("unrolled") else 0)
        data = build_data(config)
        if name.endswith("ring"):
            assert data.n_modes == 8 and data.std == 0.01
            assert float(data.modes.norm(dim=1).max()) == pytest.approx(1.0)
        else:
            assert data.n_modes == 25 and data.std == 0.05
            assert data.modes.min().item() == -4.0 and data.modes.max().item() == 4.0
    unrolled = load_config("unrolled_ring").unroll
    assert (unrolled.lr, unrolled.inner, unrolled.first_order) == (1e-4, "adam", False)


def test_a_file_wins_and_paths_stay_paths(tmp_path, monkeypatch):
    (tmp_path / "plain_ring").write_text("steps = 7\n")
    monkeypatch.chdir(tmp_path)
    assert load_config("plain_ring").steps == 7  # an existing file wins over the name
    with pytest.raises(FileNotFoundError, match="config: no such file"):
        load_config("missing.toml")
    with pytest.raises(FileNotFoundError, match="config: no such file"):
        load_config("sub/plain_ring")


def test_an_unknown_name_lists_the_shipped_ones(capsys):
    with pytest.raises(ConfigError, match="shipped: digits_dcgan, plain_grid, plain_ring"):
        load_config("unrolled_rign")
    assert main(["train", "unrolled_rign", "--out", "never-written"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("gamedyn: error: config: 'unrolled_rign' is neither a file")
    assert "unrolled_ring" in err


def test_train_help_lists_every_shipped_name(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert all(name in out for name in config_names())
