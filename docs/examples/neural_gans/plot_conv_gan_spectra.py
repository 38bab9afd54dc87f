"""
A convolutional GAN on stacked digits: spectra along training and path angles
=============================================================================

The analyses of Berard et al. (2020) — the top eigenvalues of the game Jacobian and of
each player's Hessian along training, and path-angle plots between checkpoints — were
made on image GANs.  Here they run on one: the DCGAN of the shipped configuration
``stacked_digits_dcgan`` (Radford et al. 2016, scaled to 8 × 8 images; three
independent UCI digits as the three colour channels, 1,000 modes, the 8 × 8 analogue
of stacked MNIST), with 32 feature maps in place of 64, which gives about 10⁵
parameters (60,387 in the generator, 34,657 in the discriminator).

``analyses.SpectraRecorder`` computes, every ``every`` steps and on one fixed batch,
the top eigenvalues of :math:`J` by magnitude and by imaginary part and both ends of
each player's Hessian, matrix-free (ARPACK on products through the field's graph; the
dense :math:`J` would have 9·10⁹ entries).  The generator samples are scored by
``analyses.digit_evaluator`` (a classifier trained on the training split, cached on
disk).  The same from the command line: ``gamedyn train stacked_digits_dcgan --out RUN``
(with a ``[spectra]`` section), ``gamedyn spectrum-log RUN``, ``gamedyn path-angle
CKPT_A CKPT_B`` and ``gamedyn plot RUN``.

This is a short run of one seed (150 steps with ``GAMEDYN_QUICK=1``, 600 without;
the first printed line says which): it shows the analyses on a real convolutional game,
not a trained stacked-digits GAN — the stacked-digits benchmark
(``benchmarks/stacked_digits.py``) trains for thousands of steps over several seeds.
"""

# %%
import io
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from analyses import (
    ImageGridDisplay,
    ModeHistogramDisplay,
    PathAngleDisplay,
    SpectraAlongTrainingDisplay,
    SpectraRecorder,
    digit_classifier,
    digit_coverage,
    digit_evaluator,
    path_angle,
)
from gan_models import TrainConfig, Trainer, load_config

QUICK = os.environ.get("GAMEDYN_QUICK") == "1"
previous_threads = torch.get_num_threads()
torch.set_num_threads(1)  # small networks: one thread is faster than a contended pool
# (the thread count is restored at the end)

steps = 150 if QUICK else 600
settings = load_config("stacked_digits_dcgan").to_dict()
settings.update(
    steps=steps,
    eval_every=steps // 3,
    eval_samples=1000,
    log_every=steps // 3,
    checkpoint_every=steps,  # no out_dir: nothing is written
)
settings["generator"]["width"] = 32
settings["discriminator"]["width"] = 32
config = TrainConfig.from_dict(settings)
print(f"{'quick' if QUICK else 'full'} run: {steps} steps of the stacked-digits DCGAN")

snapshots = {}


def keep_params(step, trainer):
    """A callback: the parameters at the start, the middle and the end of training."""
    if step in (0, steps // 2, steps):
        snapshots[step] = tuple(p.detach().to(torch.float64).clone() for p in trainer.params)


# Records at the start and the end (every quarter of the run in the full version): the
# top 4 of J by magnitude and by imaginary part and two eigenvalues at each end of each
# Hessian, to ARPACK's relative tolerance 1e-3 (1e-6 costs far more products on this
# game; the spectra are followed, not resolved to the last digit).
recorder = SpectraRecorder(
    steps if QUICK else steps // 4,
    k=4,
    which=("magnitude", "imaginary"),
    hessian_k=2,
    tol=1e-3,
)
trainer = Trainer.from_config(
    config, metrics=digit_evaluator, stream=io.StringIO(), callbacks=[recorder, keep_params]
)
sizes = trainer.base.sizes
print(f"parameters: generator {sizes[0]:,}, discriminator {sizes[1]:,}")
result = trainer.train()
last = result.history[-1]
seconds = sum(r["seconds"] for r in recorder.records)
print(
    f"trained {result.step} steps at {result.steps_per_second:.1f} steps/s: "
    f"{last['modes_covered']}/1000 modes with a confident sample, "
    f"{last['high_quality_percent']:.1f}% confidently classified, reverse KL "
    f"{last['reverse_kl']:.2f}, FID {last['fid']:.1f}; {len(recorder.records)} spectra in "
    f"{seconds:.1f} s ({np.mean([r['products'] for r in recorder.records]):.0f} products each)"
)

# %%
# The samples and how they spread over the 1,000 modes
# ----------------------------------------------------
# Left: the first 64 generated images of a fresh draw at the end (each colour channel
# one digit).  Right: 2,000 samples counted per mode by the digit classifier, most
# frequent first, against the uniform count (dashed).  After the quick run's 150 steps
# the images are not yet digits: the classifier is confident on 0.1% of them, one mode
# has a confident sample, and the reverse KL of the histogram, 5.7, is close to the
# 6.9 (log 1000) of a single mode — the classifier's labels for blurry images pile up
# on a few modes.  That is the state of training these spectra describe, not a result
# on mode collapse.
z = torch.randn(2000, config.latent_dim, generator=torch.Generator().manual_seed(1))
samples = trainer.base.sample(trainer.params, z).detach()
counts = digit_coverage(samples, digit_classifier(), channels=3)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), width_ratios=(1, 1.6))
ImageGridDisplay.from_samples(samples, channels=3, title=f"step {result.step}").plot(ax=left)
ModeHistogramDisplay.from_histogram(counts["histogram"]).plot(ax=right)
fig.tight_layout()
plt.show()

# %%
# The spectra along training
# --------------------------
# As in :ref:`sphx_glr_auto_examples_neural_gans_plot_spectra_along_training.py`: the
# computed eigenvalues of :math:`J` at each recorded step (left), the largest
# :math:`|\mathrm{Im}\,\lambda|`, the largest :math:`|\lambda|` and the smallest real
# part among them (middle), and the ends of each player's Hessian (right).  The table
# prints the same numbers.
#
# In the quick run (150 steps) rotation builds up fast: the largest
# :math:`|\mathrm{Im}\,\lambda|` among the computed eigenvalues goes from 0.35 at
# initialisation to about 9, the largest :math:`|\lambda|` from 1.0 to about 13, and
# the top of the discriminator's Hessian follows it (1.0 to about 15).  Both players'
# Hessians have a negative eigenvalue at both records (the generator's about −0.1 and
# then −2.1, the discriminator's −1.0 and then −2.4): neither network is at a local
# minimum of its own loss.
display = SpectraAlongTrainingDisplay.from_records(recorder.records)
summary = display.summary()
print(" step   |xi|   max|Im λ|  max|λ|  min Re λ   G: H min..max      D: H min..max")
for i, record in enumerate(recorder.records):
    g = f"{summary['hessian_min']['generator'][i]:+.3f}..{summary['hessian_max']['generator'][i]:+.3f}"
    d = (
        f"{summary['hessian_min']['discriminator'][i]:+.3f}.."
        f"{summary['hessian_max']['discriminator'][i]:+.3f}"
    )
    print(
        f"{record['step']:5d}  {record['field_norm']:.3f}  {summary['max_abs_imag'][i]:8.3f}"
        f"  {summary['max_abs'][i]:6.3f}  {summary['min_real'][i]:+8.3f}   {g:>16}  {d:>16}"
    )
display.plot()
plt.show()

# %%
# Path angles: the first and the second half of training
# ------------------------------------------------------
# Along :math:`\theta(\alpha) = \theta_a + \alpha(\theta_b - \theta_a)` on the recorder's
# fixed batch: the cosine between the field :math:`\xi` and the path, and
# :math:`\|\xi\|^2`, from the start to the middle of training and from the middle to
# the end.  A cosine near zero means the field points across the path (rotation, or
# each player pulling its own way); a dip of :math:`\|\xi\|^2` with a change of sign of
# the cosine near :math:`\alpha = 1` is Berard et al.'s sign of a rotational region
# around the later point.
#
# In the quick run both cosines stay between −0.14 and −0.10 at the end points: the
# field points mostly across each half of the path, slightly against it, while
# :math:`\|\xi\|^2` grows along it (0.018 at initialisation, 1.7 at step 75, 3.5 at
# step 150); neither half shows a dip of :math:`\|\xi\|^2` at its end.
game = recorder.game
alphas = np.round(np.linspace(-0.2, 1.2, 15), 12)
fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
for column, (a, b) in enumerate(((0, steps // 2), (steps // 2, steps))):
    angle = path_angle(game, snapshots[a], snapshots[b], alphas)
    i0, i1 = int(np.argmin(np.abs(alphas))), int(np.argmin(np.abs(alphas - 1)))
    print(
        f"step {a} -> {b}: |theta_b - theta_a| = {angle.distance:.3f}; cosine at 0 "
        f"{angle.cosine[i0]:+.3f}, at 1 {angle.cosine[i1]:+.3f}; |xi|^2 at 0 "
        f"{angle.field_norm_sq[i0]:.4g}, at 1 {angle.field_norm_sq[i1]:.4g}"
    )
    PathAngleDisplay.from_path_angle(
        angle, labels=(f"step {a}", f"step {b}"), title=f"steps {a} → {b}"
    ).plot(ax=axes[column])
fig.tight_layout()
plt.show()

torch.set_num_threads(previous_threads)  # leave the process as we found it
