"""The DCGAN networks for 8 x 8 images (gan_models.conv) as players of games and trainers."""

from __future__ import annotations

import io
import json

import pytest
import torch

pytest.importorskip("sklearn")

from analyses.cli import main
from games import FlatModule, ParameterizedGAN, check_game
from gan_models import (
    ConfigError,
    ConvDiscriminator,
    ConvGenerator,
    MixtureGenerator,
    TrainConfig,
    Trainer,
    build_data,
    build_game,
    digits,
    load_checkpoint,
    load_config,
    stacked_digits,
)

# a small DCGAN on digits: every setting of digits_dcgan but the sizes
SMALL = {
    "steps": 6,
    "batch_size": 8,
    "latent_dim": 8,
    "eval_every": 3,
    "eval_samples": 16,
    "checkpoint_every": 3,
    "log_every": 3,
    "generator__width": 4,
    "discriminator__width": 4,
}


def small(name: str = "digits_dcgan", **changes: object) -> TrainConfig:
    return load_config(name).replace(**{**SMALL, **changes})


def trainer(cfg: TrainConfig, out=None) -> Trainer:
    return Trainer.from_config(cfg, out_dir=out, progress=False, stream=io.StringIO())


# -- the networks ---------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_generator_shapes_range_and_parameter_count(channels):
    G = ConvGenerator(10, channels=channels, width=4, generator=0)
    z = torch.randn(7, 10, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x = G(z)
        assert x.shape == (7, channels * 64) and x.dtype == torch.float32
        G.body[-2].weight.mul_(1000.0)  # the last transposed convolution: saturate the tanh
        loud = G(z)
        G.body[-2].weight.div_(1000.0)
    assert bool((loud.abs() <= 1).all()) and float(loud.abs().max()) > 0.999
    # linear 10 -> 8*4, BN(8), convT 8->4 (4x4 kernel), BN(4), convT 4->C: weights + biases
    count = (10 * 32 + 32) + 2 * 8 + (8 * 4 * 16 + 4) + 2 * 4 + (4 * channels * 16 + channels)
    assert sum(p.numel() for p in G.parameters()) == count
    assert not list(G.buffers())  # batch norm without running statistics: no state
    # batch statistics in every mode: eval equals train, and a sample depends on its batch
    with torch.no_grad():
        assert torch.allclose(G.eval()(z), x, atol=1e-7)
        assert not torch.allclose(G(z[:3])[0], x[0])
        # the whole state comes from the seed: same seed, same network, on any dtype
        same = ConvGenerator(10, channels=channels, width=4, generator=0, dtype=torch.float64)
        assert torch.allclose(same(z.double()), x.double(), atol=1e-5)


@pytest.mark.parametrize("channels", [1, 3])
def test_discriminator_packs_images_along_channels(channels):
    x = stacked_digits(channels=channels).sample(6, generator=0)
    packed = ConvDiscriminator(channels=channels, width=4, pack=2, generator=3)
    logits = packed(x)
    assert logits.shape == (3,)
    # packing 2 images is a discriminator of 2C channels on the images stacked along the
    # channels (same seed, same parameter shapes, so the same weights)
    wide = ConvDiscriminator(channels=2 * channels, width=4, generator=3)
    images = x.reshape(3, 2 * channels, 8, 8)
    assert torch.allclose(wide(images), logits, atol=1e-6)
    assert packed.features(x).shape == (3, 8 * 4)  # 2·4 channels on a 2 x 2 grid
    assert torch.allclose(packed(x.reshape(6, channels, 8, 8)), logits)
    with pytest.raises(ValueError, match=r"^x: ConvDiscriminator expected images of shape"):
        packed(torch.zeros(6, 10))
    with pytest.raises(ValueError, match=r"^pack: the batch size 5"):
        packed(x[:5])


def test_bad_network_arguments_name_the_argument():
    with pytest.raises(ValueError, match=r"^size: expected a power of two >= 4"):
        ConvGenerator(4, size=12)
    with pytest.raises(TypeError, match=r"^batch_norm: expected a bool"):
        ConvGenerator(4, batch_norm="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^z: ConvGenerator expected latent codes"):
        ConvGenerator(4)(torch.zeros(2, 5))


def test_fixed_batch_game_passes_the_game_contract():
    # the generator with batch norm (batch statistics: a pure function in train mode too);
    # the discriminator with spectral norm in eval mode (in train mode its power iteration
    # moves the buffers at every call) and packing.  (Minibatch discrimination, which
    # makes each logit a function of the whole batch, passes the contract on a fixed
    # batch in tests/test_networks.py with the MLP discriminator, whose head
    # (_PackingDiscriminator) this one shares; it is left out here only for the cost of
    # this Jacobian.)
    G = ConvGenerator(4, width=2, generator=0, dtype=torch.float64)
    D = ConvDiscriminator(width=2, spectral_norm=True, pack=2, generator=1, dtype=torch.float64)
    game = ParameterizedGAN(G, D.eval(), digits(), latent_dim=4, batch_size=8, mode="fixed")
    # D: conv 2->2, conv 2->4 (4x4 kernels), head 16 -> 1
    assert game.sizes[1] == (2 * 2 * 16 + 2) + (2 * 4 * 16 + 4) + (16 + 1)
    report = check_game(game, game.params(), max_coordinates=24)
    assert report["jacobian_vs_fd"] < 1e-6


# -- training ---------------------------------------------------------------------------------


@pytest.mark.parametrize("changes", [{}, {"discriminator__spectral_norm": True}], ids=["", "sn"])
def test_resume_is_exact(tmp_path, changes):
    # with spectral norm the checkpoint carries the power iteration's u, v (buffers)
    whole = trainer(small(**changes), tmp_path / "whole").train()
    trainer(small(**changes), tmp_path / "split").train(stop_after=4)  # checkpoint at step 3
    saved = load_checkpoint(tmp_path / "split" / "checkpoint.pt")
    assert saved["step"] == 3
    assert len(saved["buffers"]["discriminator"]) == (6 if changes else 0)  # 2 convs + head
    resumed = trainer(small(**changes), tmp_path / "split").train()
    assert resumed.start_step == 3 and resumed.step == 6
    for a, b in zip(whole.params, resumed.params):
        assert torch.equal(a, b)
    assert not torch.equal(whole.params[0], trainer(small(**changes)).params[0])  # it did move


REMEDIES = {
    "unrolled": {"unroll__steps": 2},
    "pacgan": {"discriminator__pack": 2},
    "minibatch": {"discriminator__minibatch_discrimination": 3},
    "feature_matching": {"game__feature_matching": True},
    "replay": {"replay__capacity": 16, "replay__every": 1},
    "substitution": {"substitution__every": 1, "substitution__duration": 1},
    "mixture": {"generator__components": 2},
    "spectral_norm_r1": {"discriminator__spectral_norm": True, "game__regularizer": "r1"},
}


@pytest.mark.parametrize("changes", list(REMEDIES.values()), ids=list(REMEDIES))
def test_every_remedy_trains_with_the_convolutional_networks(changes):
    cfg = small("stacked_digits_dcgan", steps=3, eval_every=3, checkpoint_every=3, **changes)
    run = trainer(cfg)
    start = run.params
    result = run.train()
    for before, after in zip(start, result.params):
        assert torch.isfinite(after).all() and not torch.equal(before, after)
    G, D = run.base.G.module, run.base.D.module
    if "generator__components" in changes:
        assert isinstance(G, MixtureGenerator) and len(G.components) == 2
    else:
        assert isinstance(G, ConvGenerator) and G.channels == 3
    assert isinstance(D, ConvDiscriminator)
    assert D.trunk[0].in_channels == 3 * changes.get("discriminator__pack", 1)


def test_build_game_makes_the_dcgan_of_the_named_config():
    cfg = load_config("stacked_digits_dcgan")
    _, base, data = build_game(cfg)
    assert data.n_modes == 1000 and data.channels == 3
    G, D = base.G.module, base.D.module
    assert isinstance(G, ConvGenerator) and isinstance(D, ConvDiscriminator)
    assert (G.latent, G.width, G.batch_norm, D.width) == (100, 64, True, 64)
    assert base.sizes == (sum(p.numel() for p in G.parameters()), FlatModule(D).size)


# -- configurations and the command line --------------------------------------------------------


def test_named_dcgan_configs_have_the_papers_numbers():
    for name, channels in (("digits_dcgan", 1), ("stacked_digits_dcgan", 3)):
        cfg = load_config(name)
        # Radford et al. 2016, section 4: Adam, lr 2e-4, beta1 0.5; z of dimension 100
        assert cfg.optimizer.rule == "adam" and cfg.optimizer.lr == 2e-4
        assert cfg.optimizer.betas == [0.5, 0.999] and cfg.latent_dim == 100
        assert cfg.batch_size == 64
        assert (cfg.generator.kind, cfg.discriminator.kind) == ("dcgan", "dcgan")
        assert cfg.generator.batch_norm and not cfg.discriminator.spectral_norm
        data = build_data(cfg)
        assert data.channels == channels and len(data) == 1438


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"generator__kind": "resnet"}, "generator.kind: expected one of mlp, dcgan; got 'resnet'"),
        ({"discriminator__kind": "cnn"}, "discriminator.kind: expected one of mlp, dcgan; got"),
        ({"data__name": "ring"}, "generator.kind: 'dcgan' needs image data"),
        ({"generator__depth": 3}, "generator.depth: not a setting of the 'dcgan' network"),
        ({"discriminator__activation": "tanh"}, "discriminator.activation: not a setting"),
        ({"data__name": "mnist"}, "data.name: expected one of ring, grid, temperature, "),
    ],
)
def test_bad_values_give_one_line_errors_naming_the_key(changes, message):
    with pytest.raises(ConfigError) as caught:
        small(**changes)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_batch_norm_only_for_the_dcgan_generator():
    with pytest.raises(ConfigError, match=r"^generator.batch_norm: only the 'dcgan' generator"):
        TrainConfig.from_dict({"generator": {"batch_norm": True}})
    mlp = TrainConfig.from_dict({"data": {"name": "digits"}, "latent_dim": 8, "batch_size": 8})
    assert build_game(mlp)[1].G.module(torch.zeros(2, 8)).shape == (2, 64)  # an MLP on digits


def test_gamedyn_train_digits_dcgan_through_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GAMEDYN_CACHE", str(tmp_path / "cache"))  # the digit classifier
    out = tmp_path / "run"
    assert main(["train", "digits_dcgan", "--steps", "2", "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("trained 2 steps (0 → 2)") and "modes covered " in line
    records = [json.loads(r) for r in (out / "log.jsonl").read_text().splitlines()]
    final = records[-1]
    assert final["step"] == 2 and final["n_modes"] == 10
    assert 0 <= final["modes_covered"] <= 10 and final["fid"] > 0
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('[data]\nname = "digits"\n[generator]\nkind = "resnet"\n')
    assert main(["train", str(bad), "--out", str(tmp_path / "never")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "gamedyn: error: generator.kind: expected one of mlp, dcgan; got 'resnet'"


def test_checkpoints_from_before_the_kind_keys_keep_their_configuration_hash():
    from gan_models._runfiles import config_hash

    new = TrainConfig().to_dict()
    old = json.loads(json.dumps(new))  # as saved before [generator] kind / batch_norm
    for section, keys in (("generator", ("kind", "batch_norm")), ("discriminator", ("kind",))):
        for key in keys:
            del old[section][key]
    assert config_hash(new) == config_hash(old)
    dcgan = small().to_dict()
    assert config_hash(dcgan) != config_hash(
        {**dcgan, "generator": {**dcgan["generator"], "kind": "mlp"}}
    )
