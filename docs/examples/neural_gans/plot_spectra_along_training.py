"""
Spectra along training and the path angle
=========================================

Berard et al. (2020) follow a GAN's optimisation landscape *during* training: every few
steps they compute the top eigenvalues of the game Jacobian
:math:`J = \\partial\\xi/\\partial\\theta` (matrix-free; large imaginary parts mean
rotation) and both ends of each player's own Hessian (a negative eigenvalue: that player
is not at a local minimum of its loss).  Then, between two points of training, the
*path-angle plot*: along :math:`\\theta(\\alpha) = \\theta_a + \\alpha(\\theta_b - \\theta_a)`,
the cosine between the vector field :math:`\\xi` and the path, and
:math:`\\|\\xi\\|^2`.

``analyses.SpectraRecorder`` is a ``gan_models.Trainer`` callback: every ``every``
steps it computes the spectra on one fixed evaluation batch (the GAN's
``at_batch(seed=...)``), never touching the training streams, so training is bit-for-bit
the same with or without it, and appends them to ``spectra.jsonl`` next to the
trainer's ``log.jsonl`` (here: kept in memory).  ``analyses.path_angle`` computes the
path-angle study; ``SpectraAlongTrainingDisplay`` and ``PathAngleDisplay`` draw them.
The same from the command line: ``gamedyn spectrum-log RUN`` and
``gamedyn path-angle CKPT_A CKPT_B``.
"""

# %%
import io
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from analyses import (
    PathAngleDisplay,
    SpectraAlongTrainingDisplay,
    SpectraRecorder,
    coverage_evaluator,
    path_angle,
)
from gan_models import TrainConfig, Trainer

QUICK = os.environ.get("GAMEDYN_QUICK") == "1"
previous_threads = torch.get_num_threads()
torch.set_num_threads(1)  # small networks: one thread is faster than a contended pool
# (the thread count is restored at the end)

steps = 400 if QUICK else 2000
every = 50 if QUICK else 200
config = TrainConfig.from_dict(
    {
        "seed": 0,
        "device": "cpu",
        "steps": steps,
        "batch_size": 128,
        "latent_dim": 8,
        "eval_every": steps,
        "log_every": steps,
        "checkpoint_every": steps,  # no out_dir: nothing is written
        "data": {"name": "ring", "options": {"std": 0.02}},
        "generator": {"width": 16},
        "discriminator": {"width": 16},
        "game": {"loss": "non_saturating"},
        "optimizer": {"rule": "adam", "lr": 1e-3, "betas": [0.5, 0.999]},
    }
)
recorder = SpectraRecorder(every, k=6, which=("magnitude", "imaginary"), hessian_k=4)
trainer = Trainer.from_config(
    config, metrics=coverage_evaluator, stream=io.StringIO(), callbacks=[recorder]
)
start = tuple(p.to(torch.float64) for p in trainer.params)
result = trainer.train()
end = tuple(p.to(torch.float64) for p in result.params)
last = result.history[-1]
seconds = sum(r["seconds"] for r in recorder.records)
print(
    f"trained {result.step} steps: {last['modes_covered']}/8 modes, "
    f"{last['high_quality_percent']:.1f}% high quality; "
    f"{len(recorder.records)} spectra in {seconds:.1f} s "
    f"({recorder.records[-1]['products']} Jacobian-vector products each)"
)

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

# %%
# The spectra along training
# --------------------------
# Left: the computed eigenvalues of :math:`J` (top 6 by magnitude and top 6 by
# imaginary part) at each recorded step, coloured by step.  Middle: the largest
# :math:`|\mathrm{Im}\,\lambda|`, the largest :math:`|\lambda|` and the smallest real
# part among them.  Right: the two largest and two smallest eigenvalues of each
# player's own Hessian (symlog scale).
#
# In the full run (2000 steps) rotation grows steadily: the largest
# :math:`|\mathrm{Im}\,\lambda|` goes from about 0.3 at initialisation to about 4,
# and the eigenvalues spread out along the imaginary axis (yellow, late steps, far
# from the real axis).  The largest :math:`|\lambda|` is real and grows with the
# discriminator's sharpest curvature (the top of its Hessian, about 6.8 at the end).
# Among the computed eigenvalues the smallest real part turns positive after roughly
# step 1200; those are only the top eigenvalues, not the whole spectrum, so this does
# not prove local stability.  Meanwhile both players' Hessians keep a negative
# eigenvalue at every recorded step: neither network sits at a local minimum of its own
# loss, so the points training passes through are not local Nash equilibria, with
# strong rotation: the picture Berard et al. draw for real GANs.  (The quick run,
# 400 steps, shows the start of this: rotation up to about 1–2, negative Hessian
# eigenvalues throughout.)
display.plot()
plt.show()

# %%
# The path angle between the start and the end of training
# --------------------------------------------------------
# The game is the base GAN on the recorder's fixed batch; :math:`\alpha = 0` is the
# initialisation, :math:`\alpha = 1` the end of training.
#
# The cosine stays small, below 0.2 in absolute value everywhere: along the straight
# line from the start to the end, the vector field is nearly orthogonal to the path, so
# the players' gradients mostly point *across* it (rotation, and each player pulling
# its own way), not along it.  In the full run :math:`\|\xi\|^2` is smallest near the
# initialisation (nearly constant networks, small gradients) and rises about 30-fold
# along the path, except for a sharp local dip right at :math:`\alpha = 1`, where the
# cosine also changes sign, from negative to positive: the end point sits in a narrow
# valley of the gradient norm that the field circles rather than descends into, Berard
# et al.'s signature of a rotational region around the end of training.  (The quick
# run, 400 steps, has not settled: its path is shorter, 2.6 against 6.6, and
# :math:`\|\xi\|^2` dips mid-way, near :math:`\alpha \approx 0.6`, not at the end.)
game = recorder.game
angle = path_angle(game, start, end, np.round(np.linspace(-0.2, 1.2, 29), 12))
i0, i1 = int(np.argmin(np.abs(angle.alphas))), int(np.argmin(np.abs(angle.alphas - 1)))
print(
    f"path: |theta_end - theta_start| = {angle.distance:.3f}; "
    f"cosine at alpha=0: {angle.cosine[i0]:+.3f}, at alpha=1: {angle.cosine[i1]:+.3f}; "
    f"|xi|^2 at 0: {angle.field_norm_sq[i0]:.4f}, at 1: {angle.field_norm_sq[i1]:.4f}, "
    f"smallest {angle.field_norm_sq.min():.4f} at alpha={angle.alphas[np.argmin(angle.field_norm_sq)]:+.2f}"
)
for player in angle.players:
    print(
        f"  {player}: cosine at 0 {angle.player_cosines[player][i0]:+.3f}, at 1 "
        f"{angle.player_cosines[player][i1]:+.3f}; loss at 0 {angle.losses[player][i0]:.3f}, "
        f"at 1 {angle.losses[player][i1]:.3f}"
    )
PathAngleDisplay.from_path_angle(
    angle, labels=("init", f"step {result.step}"), title="path angle: initialisation to end"
).plot()
plt.show()

torch.set_num_threads(previous_threads)  # leave the process as we found it
