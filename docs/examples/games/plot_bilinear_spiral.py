"""
The x·y game: spirals, orbits and convergence
=============================================

In the bilinear game :math:`V(x, y) = xy` (``x`` minimises, ``y`` maximises) the only
equilibrium is :math:`(0, 0)` and the game Jacobian
:math:`J = \\begin{pmatrix} 0 & 1 \\\\ -1 & 0 \\end{pmatrix}` has eigenvalues
:math:`\\pm i`: the flow :math:`\\dot\\theta = -\\xi` circles the origin for ever.
Discrete update rules see that rotation very differently.  With one step size
:math:`\\eta` the spectral radius :math:`\\rho` of each rule's step map at the
equilibrium has a closed form:

- simultaneous GD: :math:`\\rho = |1 - i\\eta| = \\sqrt{1 + \\eta^2} > 1`, it spirals out;
- alternating GD: :math:`\\rho = 1` for :math:`\\eta < 2`, it orbits;
- extragradient: :math:`\\rho = |1 - i\\eta - \\eta^2| = \\sqrt{1 - \\eta^2 + \\eta^4}`,
  below 1 for :math:`\\eta < 1`;
- optimistic GD: :math:`\\rho` = the largest root of
  :math:`\\lambda^2 - (1 - 2i\\eta)\\lambda - i\\eta` (in modulus), below 1 for
  small :math:`\\eta`;
- consensus optimisation with weight :math:`\\gamma`:
  :math:`\\rho = |1 - \\eta(\\gamma + i)| = \\sqrt{(1 - \\eta\\gamma)^2 + \\eta^2}`,
  below 1 for :math:`\\eta < 2\\gamma / (1 + \\gamma^2)`.

We compute :math:`\\rho` with ``dynamics.linearize`` (autodiff through one step of the
rule, including its buffers: optimistic GD remembers the previous gradient), compare it
with the closed form, and run every rule from :math:`(1, 0)`.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from analyses import PhasePortraitDisplay, TrajectoryNormDisplay
from dynamics import (
    AlternatingGD,
    Consensus,
    Extragradient,
    OptimisticGD,
    SimultaneousGD,
    flow,
    linearize,
    run,
)
from games import Bilinear, as_params

QUICK = os.environ.get("GAMEDYN_QUICK") == "1"

game = Bilinear.xy()
equilibrium = game.equilibrium()
eta, gamma = 0.2, 0.5
steps = 150 if QUICK else 400

rules = {
    "simultaneous GD": SimultaneousGD(lr=eta),
    "alternating GD": AlternatingGD(lr=eta),
    "extragradient": Extragradient(lr=eta),
    "optimistic GD": OptimisticGD(lr=eta),
    f"consensus (gamma = {gamma})": Consensus(lr=eta, gamma=gamma),
}


def optimistic_radius(eta: float) -> float:
    # eigenvalue mu = +-i of J: theta_{t+1} = (1 - 2 eta mu) theta_t + eta mu theta_{t-1}
    return max(abs(np.roots([1.0, -(1 - 2j * eta), -1j * eta])))


closed_form = {
    "simultaneous GD": np.sqrt(1 + eta**2),
    "alternating GD": 1.0,
    "extragradient": np.sqrt(1 - eta**2 + eta**4),
    "optimistic GD": optimistic_radius(eta),
    f"consensus (gamma = {gamma})": np.sqrt((1 - eta * gamma) ** 2 + eta**2),
}

print(f"x·y game, step size eta = {eta}: spectral radius of each rule's step map")
print(f"{'rule':<26}{'linearize':>12}{'closed form':>14}")
radius = {}
for name, rule in rules.items():
    radius[name] = linearize(rule, game, equilibrium).spectral_radius
    print(f"{name:<26}{radius[name]:>12.6f}{closed_form[name]:>14.6f}")
    assert abs(radius[name] - closed_form[name]) < 1e-9

# %%
# Trajectories in the plane
# -------------------------
# The grey streamlines are the flow :math:`-\xi = (-y, x)`: circles.  Simultaneous GD
# leaves every circle outward (each step moves along the tangent, which points outside
# the circle); alternating GD stays on a closed orbit (its step map has determinant 1);
# extragradient, optimistic GD and consensus spiral in.
start = as_params(game, [[1.0], [0.0]])
trajectories = {name: run(game, rule, start, steps) for name, rule in rules.items()}
circle = flow(game, start, (0.0, 2 * np.pi), t_eval=np.linspace(0, 2 * np.pi, 200))

portrait = PhasePortraitDisplay.from_game(
    game, (-2.5, 2.5), (-2.5, 2.5), resolution=21, title="x·y game"
)
portrait.trajectories = {name: traj.params.numpy() for name, traj in trajectories.items()}
fig, axes = plt.subplots(1, 2, figsize=(12, 5))
portrait.plot(ax=axes[0], density=0.7)
axes[0].plot(*circle.theta.T, "k--", linewidth=1, label="flow (exact circle)")
axes[0].plot([1.0], [0.0], "ko")
axes[0].legend(fontsize=7, loc="lower left")
axes[0].set_xlim(-2.5, 2.5)
axes[0].set_ylim(-2.5, 2.5)
axes[0].set_title(f"x·y game: {steps} steps from (1, 0), eta = {eta} (grey: flow -xi)")
# the right panel is drawn by the next cell: show the figure after that one
# sphinx_gallery_defer_figures

# %%
# Distance to the equilibrium against steps
# -----------------------------------------
# On the log axis each run is a straight line of slope :math:`\log\rho` (crosses: the
# closed-form :math:`\rho^t`), after a short transient for optimistic GD, whose first
# step is plain GD.
norms = TrajectoryNormDisplay.from_trajectories(
    trajectories, center=equilibrium, title="x·y game: |theta_t| (crosses: closed-form rho^t)"
)
norms.plot(ax=axes[1])
t = np.arange(steps + 1)
for name, line in norms.lines_.items():
    axes[1].semilogy(
        t[::15], closed_form[name] ** t[::15], "x", color=line.get_color(), markersize=5
    )
fig.tight_layout()

final = {name: float(traj.norms(equilibrium)[-1]) for name, traj in trajectories.items()}
print(f"|theta| after {steps} steps: " + ", ".join(f"{k} {v:.3g}" for k, v in final.items()))
plt.show()
