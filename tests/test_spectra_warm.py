"""Spectra along training: ARPACK warm-started from the previous eigenvectors, one graph
(one games.JacobianOperator) per record, the Hessians through the same operator."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import assert_same_spectrum

import analyses.training as training
from analyses import eigenvalues, hessian_eigenvalues, spectra_record, top_eigenvalues
from games import JacobianOperator, jacobian

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _mlp_game import MLPGame, hidden_for

GAME = MLPGame(hidden_for(300), batch=16)
P0 = GAME.params(torch.float64)


def _nearby(params, scale, seed):
    gen = torch.Generator().manual_seed(seed)
    return tuple(
        p + scale * torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in params
    )


P1 = _nearby(P0, 1e-3, 1)


@pytest.mark.parametrize("which", ["magnitude"])
def test_warm_started_arpack_finds_the_dense_eigenvalues_with_fewer_products(which):
    first = top_eigenvalues(GAME, P0, 6, which=which, tol=1e-10, return_start=True)
    assert first.start is not None and first.start.shape == (sum(GAME.sizes),)
    cold = top_eigenvalues(GAME, P1, 6, which=which, tol=1e-10)
    warm = top_eigenvalues(GAME, P1, 6, which=which, tol=1e-10, v0=first.start)
    dense = eigenvalues(GAME, P1).values
    key = np.abs(dense) if which == "magnitude" else np.abs(dense.imag)
    expected = dense[np.argsort(-key)][:6]
    assert_same_spectrum(warm.values, expected, rtol=1e-7, atol=1e-10)
    assert_same_spectrum(cold.values, expected, rtol=1e-7, atol=1e-10)
    assert warm.products < cold.products


def test_one_operator_serves_every_spectrum_of_a_record(monkeypatch):
    built = []
    original = JacobianOperator.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(training.JacobianOperator, "__init__", counting)
    starts: dict = {}
    record = spectra_record(GAME, P0, k=4, hessian_k=4, tol=1e-10, starts=starts)
    assert len(built) == 1  # the field's graph built once for J's two spectra and both Hessians
    assert set(starts) == {
        "jacobian/magnitude",  # not "jacobian/imaginary": never warm-started
        "hessian/generator",
        "hessian/discriminator",
    }
    # the Hessian ends through the shared operator equal the dense blocks' eigenvalues
    J = jacobian(GAME, P0)
    for i, player in enumerate(GAME.players):
        H = J.hessian(i)
        exact = np.sort(torch.linalg.eigvalsh(0.5 * (H + H.T)).numpy())
        ends = np.concatenate([exact[:2], exact[-2:]])[::-1]
        np.testing.assert_allclose(record["hessian"][player], ends, rtol=1e-7, atol=1e-9)
    # the next record, warm-started at a nearby point: same values as a cold one, fewer
    # products
    warm = spectra_record(GAME, P1, k=4, hessian_k=4, tol=1e-10, starts=starts)
    cold = spectra_record(GAME, P1, k=4, hessian_k=4, tol=1e-10)
    for which in ("magnitude", "imaginary"):
        # equal up to which member of a conjugate pair split at the k-th place is reported
        a, b = (np.abs(np.array(r["jacobian"][which])) for r in (warm, cold))
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)
    assert warm["products"] < cold["products"]


def test_shared_operator_and_starting_vector_are_checked():
    operator = JacobianOperator(GAME, P0, dtype=torch.float64)
    shared = top_eigenvalues(GAME, P0, 4, operator=operator, tol=1e-10)
    alone = top_eigenvalues(GAME, P0, 4, tol=1e-10)
    assert_same_spectrum(shared.values, alone.values, rtol=1e-9, atol=1e-12)
    assert operator.products == shared.products
    h = hessian_eigenvalues(GAME, P0, 0, 2, operator=operator, tol=1e-10)
    assert operator.products == shared.products + h.products
    with pytest.raises(ValueError, match="v0: expected a finite, nonzero vector of"):
        top_eigenvalues(GAME, P0, 4, v0=np.zeros(sum(GAME.sizes)))
    with pytest.raises(TypeError, match="operator: expected a float64 or float32 operator"):
        top_eigenvalues(GAME, P0, 4, operator=JacobianOperator(GAME, P0, dtype=torch.bfloat16))


def test_float32_products_give_the_dense_float64_spectrum_to_float32_accuracy():
    dense = jacobian(GAME, P0).eigenvalues()
    # one real eigenvalue and two conjugate pairs: the top 5 by magnitude close under conjugation
    top = dense[np.argsort(-np.abs(dense))][:5]
    single = JacobianOperator(GAME, P0, dtype=torch.float32)
    found = top_eigenvalues(GAME, P0, 5, operator=single, tol=1e-5)
    assert single.products == found.products > 0
    assert_same_spectrum(found.values, top, rtol=1e-4, atol=1e-6)
    h32 = hessian_eigenvalues(GAME, P0, 1, 2, operator=single, tol=1e-5).values
    h64 = hessian_eigenvalues(GAME, P0, 1, 2, tol=1e-10).values
    np.testing.assert_allclose(np.sort(h32), np.sort(h64), rtol=1e-4, atol=1e-6)
    record = spectra_record(
        GAME, P0, k=5, which="magnitude", hessian_k=0, tol=1e-5, dtype=torch.float32
    )
    assert record["dtype"] == "float32"
    got = np.array([complex(re, im) for re, im in record["jacobian"]["magnitude"]])
    assert_same_spectrum(got, top, rtol=1e-4, atol=1e-6)
    with pytest.raises(TypeError, match=r"dtype: expected torch\.float64 or torch\.float32"):
        spectra_record(GAME, P0, dtype=torch.float16)
    with pytest.raises(TypeError, match=r"dtype: expected torch\.float64 or torch\.float32"):
        training.SpectraRecorder(10, dtype=torch.int64)


def test_without_return_start_the_eigenvalue_only_path_is_unchanged():
    # the default computes no Ritz vectors (ARPACK's vector post-processing may pick the
    # other member of a conjugate pair at the k-th place): no start, dense values
    spectrum = top_eigenvalues(GAME, P0, 5, tol=1e-10)
    assert spectrum.start is None
    dense = eigenvalues(GAME, P0).values
    assert_same_spectrum(spectrum.values[:5], dense[:5], rtol=1e-7, atol=1e-10)


def test_arpack_runs_on_one_blas_thread_with_the_same_eigenvalues(monkeypatch):
    # ARPACK's own BLAS (numpy/scipy's pool) on one thread during the run, restored after;
    # torch's OpenMP pool untouched; the eigenvalues those of the dense Jacobian
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import analyses.spectra as spectra

    seen: list[dict[str, int]] = []
    real = spectra.sla.eigs

    def spying(*args, **kwargs):
        seen.append({i["user_api"]: i["num_threads"] for i in threadpoolctl.threadpool_info()})
        return real(*args, **kwargs)

    before = {i["filepath"]: i["num_threads"] for i in threadpoolctl.threadpool_info()}
    monkeypatch.setattr(spectra.sla, "eigs", spying)
    threads = torch.get_num_threads()
    found = top_eigenvalues(GAME, P0, 6, tol=1e-10)
    assert seen and seen[0]["blas"] == 1 and torch.get_num_threads() == threads
    assert {i["filepath"]: i["num_threads"] for i in threadpoolctl.threadpool_info()} == before
    dense = eigenvalues(GAME, P0).values  # decreasing modulus
    nearest = np.abs(found.values[:, None] - dense[None, :]).min(axis=1)
    assert np.all(nearest <= 1e-8 * np.abs(found.values))
    np.testing.assert_allclose(np.abs(found.values), np.abs(dense[:6]), rtol=1e-8)
