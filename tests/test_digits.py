"""The digits data, stacked digits, the digit metrics and the Fréchet distance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from analyses import DigitClassifier, digit_classifier, digit_coverage, frechet_distance
from gan_models import digits, stacked_digits

pytest.importorskip("sklearn")


def test_digits_split_is_fixed_stratified_and_disjoint():
    train, held, every = digits("train"), digits("held_out"), digits("all")
    assert (len(train), len(held), len(every)) == (1438, 359, 1797)
    # 20 % of each class held out
    for d in range(10):
        n = int((every.labels == d).sum())
        assert int((held.labels == d).sum()) == round(0.2 * n)
    # disjoint: no held-out image is in the training split
    flat_train = {tuple(x.flatten().tolist()) for x in train.images}
    overlap = sum(tuple(x.flatten().tolist()) in flat_train for x in held.images)
    assert overlap <= 2  # the UCI set has a few exact duplicates across writers
    assert float(every.images.min()) == -1.0 and float(every.images.max()) == 1.0


def test_sampling_shapes_seeding_and_labels():
    data = stacked_digits()
    x, y = data.sample_with_labels(500, generator=7)
    x2, y2 = data.sample_with_labels(500, generator=7)
    assert x.shape == (500, 192) and x.dtype == torch.float32
    assert torch.equal(x, x2) and torch.equal(y, y2)
    # the label of a stacked sample is 100a + 10b + c of its three channels
    base = digits()
    lookup = {tuple(img.flatten().tolist()): int(lbl) for img, lbl in zip(base.images, base.labels)}
    for sample, label in zip(x[:20].double(), y[:20]):
        parts = [lookup.get(tuple(ch.tolist()), -1) for ch in sample.reshape(3, 64)]
        if -1 not in parts:  # float32 round trip of a value in {k/8 - 1}: exact
            assert int(label) == 100 * parts[0] + 10 * parts[1] + parts[2]
    assert int(y.min()) >= 0 and int(y.max()) < 1000
    with pytest.raises(ValueError, match="split"):
        digits("test")


class _Fixed(DigitClassifier):
    """A classifier whose answer is the sample's first pixel: digit = round(x0) mod 10."""

    def __init__(self, confidence: float):
        super().__init__(torch.nn.Identity(), 1.0, {})
        self.p = confidence

    def probabilities(self, images, channels=1):
        x = torch.as_tensor(images, dtype=torch.float32).reshape(-1, channels, 64)
        digit = x[..., 0].round().long() % 10
        out = torch.full((*digit.shape, 10), (1 - self.p) / 9)
        out.scatter_(-1, digit[..., None], self.p)
        return out


def test_digit_coverage_on_hand_made_sets():
    one_mode = torch.zeros(100, 64)
    result = digit_coverage(one_mode, _Fixed(0.95))
    assert result["modes"] == 1 and result["hq_percent"] == 100.0
    assert result["reverse_kl"] == pytest.approx(math.log(10))  # all mass on one of 10
    every = torch.zeros(1000, 64)
    every[:, 0] = torch.arange(1000) % 10
    result = digit_coverage(every, _Fixed(0.95))
    assert result["modes"] == 10 and result["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    # a known histogram: 3/4 on digit 0, 1/4 on digit 1 -> KL = sum p log(10 p)
    half = torch.zeros(400, 64)
    half[300:, 0] = 1
    expected = 0.75 * math.log(7.5) + 0.25 * math.log(2.5)
    assert digit_coverage(half, _Fixed(0.95))["reverse_kl"] == pytest.approx(expected)
    # below the confidence threshold nothing is high quality and no mode counts
    low = digit_coverage(every, _Fixed(0.5))
    assert low["modes"] == 0 and low["hq_percent"] == 0.0
    assert low["mean_confidence"] == pytest.approx(0.5)
    # stacked: three channels, 1,000 modes
    stacked = torch.zeros(1000, 192)
    k = torch.arange(1000)
    stacked[:, 0], stacked[:, 64], stacked[:, 128] = k // 100, (k // 10) % 10, k % 10
    result = digit_coverage(stacked, _Fixed(0.99), channels=3)
    assert result["n_modes"] == 1000 and result["modes"] == 1000
    assert result["histogram"] == [1] * 1000


def test_frechet_distance_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal([1.0, -2.0], [1.0, 3.0], size=(400_000, 2))
    b = rng.normal([0.0, 0.0], [2.0, 1.0], size=(400_000, 2))
    # independent coordinates: |dmu|^2 + sum (sigma_a - sigma_b)^2 = 5 + (1 + 4)
    assert frechet_distance(a, b) == pytest.approx(10.0, rel=0.01)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="feature"):
        frechet_distance(a, b[:, :1])


@pytest.mark.slow
def test_trained_classifier_reaches_97_percent(tmp_path):
    classifier = digit_classifier(cache_dir=tmp_path)
    assert classifier.accuracy >= 0.97
    again = digit_classifier(cache_dir=tmp_path)  # from the cache: same weights
    assert again.accuracy == classifier.accuracy
    images = digits("held_out").images
    assert torch.equal(classifier.probabilities(images), again.probabilities(images))
