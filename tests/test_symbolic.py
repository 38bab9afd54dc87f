"""Numeric against symbolic: vector field, Jacobian and eigenvalues of every closed-form game."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from conftest import GAMES, assert_same_spectrum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from games import (
    Bilinear,
    DiracGAN,
    SymbolicGame,
    as_params,
    check_game,
    jacobian,
    vector_field,
)

SYMBOLIC = {name: game.symbolic() for name, game in GAMES.items()}
# The lambdified Jacobian of each twin, evaluated in float64 (numpy): a second channel.
JACOBIAN_FUNCS = {
    name: sp.lambdify(list(twin.all_symbols), twin.jacobian(), modules="numpy")
    for name, twin in SYMBOLIC.items()
}
FIELD_FUNCS = {
    name: sp.lambdify(list(twin.all_symbols), twin.vector_field(), modules="numpy")
    for name, twin in SYMBOLIC.items()
}

coordinate = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False, allow_infinity=False)


def _point(game, data):
    values = [[data.draw(coordinate) for _ in range(size)] for size in game.sizes]
    return values, as_params(game, values)


def _away_from_kink(name, values):
    # WGAN-GP's |psi| is not differentiable at psi = 0
    return not (name == "dirac_wgan_gp" and abs(values[1][0]) < 1e-3)


@pytest.mark.parametrize("name", sorted(GAMES))
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_field_and_jacobian_match_the_symbolic_twin(name, data):
    game = GAMES[name]
    values, params = _point(game, data)
    if not _away_from_kink(name, values):
        return
    flat = [v for block in values for v in block]
    exact_field = np.asarray(FIELD_FUNCS[name](*flat), dtype=np.float64).reshape(-1)
    exact_jacobian = np.asarray(JACOBIAN_FUNCS[name](*flat), dtype=np.float64)
    np.testing.assert_allclose(
        torch.cat(vector_field(game, params)).numpy(), exact_field, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        jacobian(game, params).numpy(), exact_jacobian, rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("name", sorted(GAMES))
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_eigenvalues_match_the_exact_characteristic_polynomial(name, data):
    game = GAMES[name]
    values, params = _point(game, data)
    if not _away_from_kink(name, values):
        return
    numeric = jacobian(game, params).eigenvalues()
    assert_same_spectrum(numeric, SYMBOLIC[name].eigenvalues_at(values), rtol=1e-8, atol=1e-9)


def test_exact_jacobian_of_the_xy_game():
    twin = Bilinear.xy().symbolic()
    assert twin.jacobian() == sp.Matrix([[0, 1], [-1, 0]])
    assert twin.eigenvalues() == {sp.I: 1, -sp.I: 1}
    assert twin.equilibria() == [{sp.Symbol("x", real=True): 0, sp.Symbol("y", real=True): 0}]


def test_exact_r1_dirac_eigenvalues_in_gamma():
    theta, psi, gamma = sp.symbols("theta psi gamma", real=True)
    f = lambda t: -sp.log(1 + sp.exp(-t))  # noqa: E731
    value = f(psi * theta) + f(0)
    twin = SymbolicGame([[theta], [psi]], [value, -value + gamma / 2 * psi**2])
    eigenvalues = twin.eigenvalues(point={theta: 0, psi: 0})
    expected = {gamma / 2 - sp.sqrt(gamma**2 - 1) / 2, gamma / 2 + sp.sqrt(gamma**2 - 1) / 2}
    assert {sp.simplify(v) for v in eigenvalues} == {sp.simplify(v) for v in expected}


def test_lambdified_twin_is_a_game_that_matches_the_original():
    game = DiracGAN("non_saturating", "r1", gamma=0.4)
    twin = game.symbolic().to_game()
    check_game(twin)
    params = as_params(game, [[0.3], [-0.8]])
    for a, b in zip(game.losses(params), twin.losses(params)):
        assert float(a) == pytest.approx(float(b), rel=1e-13)
    torch.testing.assert_close(jacobian(twin, params).matrix, jacobian(game, params).matrix)


def test_symbolic_game_rejects_bad_input():
    x, y = sp.symbols("x y")
    with pytest.raises(ValueError, match="losses: expected 2"):
        SymbolicGame([[x], [y]], [x * y])
    with pytest.raises(ValueError, match="appears twice"):
        SymbolicGame([[x], [x]], [x, x])
    with pytest.raises(TypeError, match="Symbols"):
        SymbolicGame([[x], ["y"]], [x, x])
    a = sp.Symbol("a")
    with pytest.raises(ValueError, match=r"free symbols.*a"):
        SymbolicGame([[x], [y]], [a * x * y, -x * y]).to_game()
