"""games: what is played.

The :class:`Game` protocol, the generic autodiff machinery (vector field, dense block
Jacobian, matrix-free products), the closed-form games and their exact sympy twins.

Conventions: params are a tuple with one flat 1-D tensor per player; every player
minimises its own loss; ``xi = (d l_i / d theta_i)_i`` and ``J = d xi / d theta``.
"""

from typing import TYPE_CHECKING

from .lazy import attach

if TYPE_CHECKING:
    from ._protocol import Game, Params, as_params, random_params, validate_params
    from ._version import __version__ as __version__
    from .autodiff import field_function, flatten_params, unflatten_params, vector_field
    from .checks import check_game
    from .densities import (
        Grid,
        gaussian_mixture_density,
        generator_best_response,
        jsd,
        kl,
        optimal_discriminator,
        reverse_kl,
        temperature_density,
        validate_density,
        virtual_training_criterion,
    )
    from .dirac import DiracGAN
    from .function_space import FunctionSpaceGAN, GeneratorFunctionSpaceGAN
    from .jacobians import (
        BlockJacobian,
        FieldProducts,
        JacobianOperator,
        jacobian,
        jvp,
        sort_eigenvalues,
        vjp,
    )
    from .modules import FlatModule
    from .nagarajan_kolter import NagarajanKolterGame, nagarajan_kolter
    from .parameterized import ParameterizedGAN
    from .quadratic import Bilinear, Quadratic
    from .symbolic import LambdifiedGame, SymbolicGame
    from .unrolled import FirstOrderUnrolledGame, UnrolledGame, unrolled


__all__ = [
    "Bilinear",
    "BlockJacobian",
    "DiracGAN",
    "FieldProducts",
    "FirstOrderUnrolledGame",
    "FlatModule",
    "FunctionSpaceGAN",
    "Game",
    "GeneratorFunctionSpaceGAN",
    "Grid",
    "JacobianOperator",
    "LambdifiedGame",
    "NagarajanKolterGame",
    "ParameterizedGAN",
    "Params",
    "Quadratic",
    "SymbolicGame",
    "UnrolledGame",
    "as_params",
    "check_game",
    "field_function",
    "flatten_params",
    "gaussian_mixture_density",
    "generator_best_response",
    "jacobian",
    "jsd",
    "jvp",
    "kl",
    "nagarajan_kolter",
    "optimal_discriminator",
    "random_params",
    "reverse_kl",
    "sort_eigenvalues",
    "temperature_density",
    "unflatten_params",
    "unrolled",
    "validate_density",
    "validate_params",
    "vector_field",
    "virtual_training_criterion",
    "vjp",
]

attach(__name__)
