"""Bad input gets a clear error naming the argument and what was expected."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import TinyNeuralGAN

from games import (
    Bilinear,
    BlockJacobian,
    DiracGAN,
    FlatModule,
    JacobianOperator,
    Quadratic,
    as_params,
    jacobian,
    jvp,
    random_params,
    vector_field,
)

XY = Bilinear.xy()
OK = (torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64))


@pytest.mark.parametrize(
    "params,error,match",
    [
        (
            (torch.zeros(1, dtype=torch.float64),),
            ValueError,
            r"params: expected 2 tensors \(one per player: x, y\), got 1",
        ),
        (torch.zeros(2), TypeError, "params: expected a tuple with one 1-D tensor per player"),
        ((torch.zeros(1), [0.0]), TypeError, r"params\[1\] \(y\): expected a torch.Tensor"),
        (
            (torch.zeros(2, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)),
            ValueError,
            r"params\[0\] \(x\): expected 1 values, got 2",
        ),
        (
            (torch.zeros(1, 1), torch.zeros(1)),
            ValueError,
            r"params\[0\] \(x\): expected a flat 1-D tensor",
        ),
        ((torch.zeros(1, dtype=torch.int64), torch.zeros(1)), TypeError, "floating-point"),
        (
            (torch.zeros(1), torch.zeros(1, dtype=torch.float64)),
            TypeError,
            r"params\[1\] \(y\): expected dtype torch.float32",
        ),
        (
            (torch.tensor([math.nan]), torch.zeros(1)),
            ValueError,
            r"params\[0\] \(x\): expected finite values",
        ),
        ((torch.zeros(1), torch.tensor([math.inf])), ValueError, "finite"),
    ],
)
def test_bad_params(params, error, match):
    with pytest.raises(error, match=match):
        vector_field(XY, params)
    with pytest.raises(error, match=match):
        jacobian(XY, params)


def test_mismatched_devices_are_rejected():
    # the meta device exists on every machine, with or without CUDA
    meta = (torch.zeros(1), torch.zeros(1, device="meta"))
    with pytest.raises(ValueError, match=r"params\[1\] \(y\): expected device cpu"):
        vector_field(XY, meta)
    if torch.cuda.is_available():
        mixed = (torch.zeros(1), torch.zeros(1, device="cuda"))
        with pytest.raises(ValueError, match=r"params\[1\] \(y\): expected device cpu"):
            jacobian(XY, mixed)


def test_not_a_game():
    with pytest.raises(
        TypeError, match="game: expected an object with 'players', 'sizes' and 'losses'"
    ):
        vector_field(object(), OK)


def test_losses_of_the_wrong_shape_are_reported():
    class Vector:
        players = ("a", "b")
        sizes = (1, 1)

        def losses(self, params):
            return params[0] * params[1], params[1]

    class TooFew:
        players = ("a", "b")
        sizes = (1, 1)

        def losses(self, params):
            return ((params[0] * params[1]).sum(),)

    vector_field(Vector(), OK)  # 1-element tensors are scalars
    with pytest.raises(ValueError, match="returned 1 values, expected one per player"):
        vector_field(TooFew(), OK)


def test_jvp_tangents_are_checked():
    with pytest.raises(ValueError, match=r"tangents\[0\] \(x\): expected 1 values"):
        jvp(XY, OK, (torch.zeros(3, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)))
    with pytest.raises(TypeError, match=r"tangents: expected dtype torch\.float64"):
        jvp(XY, OK, (torch.zeros(1), torch.zeros(1)))
    op = JacobianOperator(XY, OK)
    with pytest.raises(ValueError, match="v: expected a flat vector of 2 values"):
        op.matvec(torch.zeros(3))


@pytest.mark.parametrize(
    "build,error,match",
    [
        (lambda: Bilinear([1.0, 2.0]), ValueError, "A: expected a 2-D matrix"),
        (lambda: Bilinear([[1.0, math.nan]]), ValueError, "A: expected finite entries"),
        (lambda: Bilinear("abc"), TypeError, "A: expected a 2-D array"),
        (
            lambda: Bilinear([[1.0, 2.0]], b=[1.0, 2.0]),
            ValueError,
            r"b: expected a 1-D vector of 1 values",
        ),
        (
            lambda: Bilinear([[1.0, 2.0]], c=[1.0]),
            ValueError,
            r"c: expected a 1-D vector of 2 values",
        ),
        (
            lambda: Quadratic([[[1.0, 2.0], [0.0, 1.0]], np.eye(2)]),
            ValueError,
            r"hessians\[0\]: expected a symmetric matrix",
        ),
        (
            lambda: Quadratic([np.eye(2), np.eye(3)]),
            ValueError,
            r"hessians\[1\]: expected shape \(2, 2\)",
        ),
        (lambda: Quadratic([np.eye(3), np.eye(3)]), ValueError, "sizes: required"),
        (
            lambda: Quadratic([np.eye(3), np.eye(3)], sizes=[1, 1]),
            ValueError,
            "sizes: expected sizes summing to n = 3",
        ),
        (
            lambda: Quadratic([np.eye(2), np.eye(2)], gradients=[[1.0, 2.0]]),
            ValueError,
            "gradients: expected 2 vectors",
        ),
        (
            lambda: Quadratic.zero_sum(np.eye(2), np.ones((2, 3)), np.eye(2)),
            ValueError,
            r"R: expected shape \(3, 3\)",
        ),
        (
            lambda: Quadratic.zero_sum([[1.0, 2.0], [0.0, 1.0]], np.ones((2, 1)), [[1.0]]),
            ValueError,
            "P: expected a symmetric",
        ),
        (lambda: DiracGAN("hinge"), ValueError, "loss: unknown value 'hinge'"),
        (lambda: DiracGAN(regularizer="r3"), ValueError, "regularizer: unknown value 'r3'"),
        (
            lambda: DiracGAN(regularizer="r1"),
            ValueError,
            "gamma: the 'r1' regulariser needs gamma > 0",
        ),
        (
            lambda: DiracGAN(regularizer="r1", gamma=-1.0),
            ValueError,
            "gamma: expected a finite number >= 0",
        ),
        (
            lambda: DiracGAN(regularizer="instance_noise"),
            ValueError,
            "noise_std: .* needs noise_std > 0",
        ),
        (
            lambda: DiracGAN(quadrature_nodes=0),
            ValueError,
            "quadrature_nodes: expected a positive int",
        ),
        (lambda: FlatModule("net"), TypeError, "module: expected a torch.nn.Module"),
        (lambda: FlatModule(torch.nn.ReLU()), ValueError, "at least one parameter"),
        (
            lambda: random_params(XY, scale=-1.0),
            ValueError,
            "scale: expected a positive finite number",
        ),
        (lambda: jacobian(XY, OK, chunk_size=0), ValueError, "chunk_size: expected a positive int"),
        (
            lambda: BlockJacobian(torch.zeros(3, 3), (1, 1), ("x", "y")),
            ValueError,
            r"matrix: expected shape \(2, 2\)",
        ),
        (
            lambda: as_params(XY, [[1.0, 2.0], [0.0]]),
            ValueError,
            r"values\[0\] \(x\): expected 1 values, got 2",
        ),
    ],
)
def test_bad_constructor_arguments(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_block_access_by_bad_player():
    J = jacobian(XY, OK)
    with pytest.raises(ValueError, match="i: unknown player 'z'"):
        J.block("z", "x")
    with pytest.raises(ValueError, match="j: player index 5 out of range"):
        J.block(0, 5)


def test_flat_module_round_trip():
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    flat = FlatModule(net)
    theta = flat.flatten()
    assert theta.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    x = torch.randn(5, 3)
    torch.testing.assert_close(flat(theta, x), net(x))
    flat.load_(theta * 2)
    torch.testing.assert_close(flat.flatten(), theta * 2)
    with pytest.raises(ValueError, match="flat: expected a 1-D tensor of 26 values"):
        flat(torch.zeros(5), x)


def test_neural_game_in_float64_from_float32_modules():
    game = TinyNeuralGAN()
    params = tuple(p.double() for p in (game.G.flatten(), game.D.flatten()))
    J = jacobian(game, params)
    assert J.matrix.dtype == torch.float64
    assert J.block("generator", "discriminator").shape == (game.sizes[0], game.sizes[1])
