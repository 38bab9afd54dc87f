r"""The named update rules, with typed hyper-parameters: one registry for every front end.

A rule is named as ``NAME`` or ``NAME:key=value,key=value`` (e.g. ``momentum:beta=-0.5``)
on the ``gamedyn`` command line, and as ``optimizer.rule`` (with ``optimizer.options``)
in a :mod:`gan_models` training configuration; both resolve the name here, so the two
know the same rules, aliases, hyper-parameters and defaults.  Every key is declared with
its type, default and allowed values (:class:`Param`), so a typo fails with one line
naming the key and what was expected (:class:`SpecError`) before anything is built; the
rule classes' own checks surface as :class:`SpecError` too.

The machinery (:class:`Param`, :func:`parse_spec`, :func:`canonical`, :func:`build`)
is generic over registries of entries with ``name``, ``params`` and ``build``:
``analyses._registry`` uses it for its named games.

Examples
--------
>>> from dynamics.registry import RULES, make_rule, parse_spec
>>> spec = parse_spec("momentum:beta=-0.5", RULES, "rule")
>>> spec.entry.cls.__name__, spec.values, spec.text
('Momentum', {'beta': -0.5}, 'momentum:beta=-0.5')
>>> make_rule("sgd", 0.1)  # an alias of gd
SimultaneousGD(lr=0.1)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from games.vocabulary import LOSS_ALIASES, WHICH_ALIASES, canonical_parameter

if TYPE_CHECKING:
    from ._base import StepSize, UpdateRule

__all__ = [
    "RULES",
    "TRAINING_RULES",
    "Param",
    "RuleEntry",
    "Spec",
    "SpecError",
    "build",
    "canonical",
    "format_value",
    "lookup",
    "make_rule",
    "parse_spec",
]


class SpecError(ValueError):
    """A bad named specification: an unknown name or key, a key given twice, a bad value.

    The message is one line naming the entry and the key and saying what was expected.
    """


def _in_range(value: float, low: float | None, high: float | None, open_low: bool) -> bool:
    if not math.isfinite(value):
        return False
    if low is not None and (value <= low if open_low else value < low):
        return False
    return not (high is not None and value >= high)


def format_value(value: Any) -> str:
    """A parameter value as it is written in a specification (``true``, ``0.5``, ``r1``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_CHOICE_ALIASES: dict[str, dict[str, str]] = {"loss": LOSS_ALIASES, "which": WHICH_ALIASES}


@dataclass(frozen=True)
class Param:
    """One typed parameter of a named rule (or game).

    Attributes
    ----------
    name : str
        The key, as written in ``NAME:key=value``.
    kind : {"int", "float", "choice", "bool"}
        The type.
    default : Any
        The value when the key is not given (the class's own default).
    help : str
        One line for listings.
    choices : tuple of str
        The allowed values of a ``"choice"``.
    low, high : float, optional
        Numbers must lie in ``[low, high)`` (``(low, high)`` with ``open_low``).
    open_low : bool
        Exclude ``low``.
    """

    name: str
    kind: str
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    open_low: bool = False

    @property
    def expected(self) -> str:
        """What a valid value looks like, for help and error messages."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        what = "an int" if self.kind == "int" else "a number"
        if self.low is not None and self.high is not None:
            left = "(" if self.open_low else "["
            return f"{what} in {left}{self.low:g}, {self.high:g})"
        if self.low is not None:
            return f"{what} {'>' if self.open_low else '>='} {self.low:g}"
        return what

    def parse(self, text: str, where: str) -> Any:
        """The value of ``text``, or a :class:`SpecError` naming ``where`` and the key."""
        separator = ";" if self.kind == "choice" else ","
        error = SpecError(f"{where}: {self.name}: expected {self.expected}{separator} got {text!r}")
        if self.kind == "choice":
            # the one vocabulary: other spellings of a loss or eigenvalue selector
            aliases = _CHOICE_ALIASES.get(self.name, {})
            key = text.strip().lower().replace("-", "_")
            text = text if text in self.choices else aliases.get(key, key)
            if text not in self.choices:
                raise error
            return text
        if self.kind == "bool":
            lowered = text.lower()
            if lowered in ("true", "yes", "1"):
                return True
            if lowered in ("false", "no", "0"):
                return False
            raise error
        try:
            value: float = int(text) if self.kind == "int" else float(text)
        except ValueError:
            raise error from None
        return self.check(value, where, text)

    def check(self, value: float, where: str, text: str | None = None) -> Any:
        """A number checked against the type and bounds (e.g. a grid value)."""
        number = float(value)
        ok = self.kind in ("int", "float") and _in_range(number, self.low, self.high, self.open_low)
        if self.kind == "int":
            ok = ok and number.is_integer()
        if not ok:
            shown = text if text is not None else f"{number:g}"
            raise SpecError(f"{where}: {self.name}: expected {self.expected}, got {shown!r}")
        return int(number) if self.kind == "int" else number

    def describe(self) -> str:
        """``name: expected, default ... help`` for listings."""
        return f"{self.name}: {self.expected}, default {format_value(self.default)}. {self.help}"


@dataclass(frozen=True)
class RuleEntry:
    """A named update rule: its class, summary, hyper-parameters (besides ``lr``) and factory.

    The entry names its class rather than holding it, so that listing the rules (``gamedyn
    rules``, ``--help``) imports no rule and no torch; :attr:`cls` imports it.

    Attributes
    ----------
    name : str
        The name (``gamedyn rules`` lists it; ``optimizer.rule`` of a configuration).
    class_name : str
        The name in :mod:`dynamics` of the :class:`dynamics.UpdateRule` subclass that
        ``build`` returns (:attr:`cls`).
    summary : str
        One line for listings.
    params : tuple of Param
        The hyper-parameters besides the step size, with the class's defaults.
    build : callable
        ``build(lr=..., **values)`` with one value per parameter.
    aliases : tuple of str
        Other names of the rule.
    analytic : str, optional
        The rule's name in :func:`analyses.stability_region`'s eigendecompose-once path,
        when its step map is a function of the game Jacobian alone.
    training : bool
        Usable as ``optimizer.rule`` of a :mod:`gan_models` training configuration
        (stochastic minibatches, one field evaluation or a few per step).
    scale_invariant : bool
        The class's ``scale_invariant`` (it normalises the gradient, so its linearisation
        at a fixed point says nothing), known without importing the class.
    """

    name: str
    class_name: str
    summary: str
    params: tuple[Param, ...]
    build: Callable[..., UpdateRule]
    aliases: tuple[str, ...] = ()
    analytic: str | None = None
    training: bool = False
    scale_invariant: bool = False

    @property
    def cls(self) -> type[UpdateRule]:
        """The rule's class (imports :mod:`dynamics`' rules, and torch)."""
        import dynamics

        cls: type[UpdateRule] = getattr(dynamics, self.class_name)
        return cls


def _rule(class_name: str) -> Callable[..., UpdateRule]:
    """The constructor of ``dynamics.<class_name>``, imported when it is called."""

    def construct(*args: Any, **kwargs: Any) -> UpdateRule:
        import dynamics

        rule: UpdateRule = getattr(dynamics, class_name)(*args, **kwargs)
        return rule

    construct.__name__ = construct.__qualname__ = class_name
    return construct


def _alternating(lr: StepSize, d_steps: int) -> UpdateRule:
    from .first_order import AlternatingGD

    return AlternatingGD(lr, repeats=1 if d_steps == 1 else (1, d_steps))


_EPS = Param("eps", "float", 1e-8, "denominator offset", low=0.0, open_low=True)
_ALPHA = Param("alpha", "float", 0.1, "anticipated step", low=0.0)

RULES: dict[str, RuleEntry] = {
    entry.name: entry
    for entry in (
        RuleEntry(
            "gd",
            "SimultaneousGD",
            "simultaneous gradient descent: theta <- theta - D xi(theta)",
            (),
            _rule("SimultaneousGD"),
            aliases=("sgd",),
            analytic="gd",
            training=True,
        ),
        RuleEntry(
            "alternating",
            "AlternatingGD",
            "alternating (Gauss-Seidel) GD: the last player (the discriminator) first, "
            "d_steps of its steps per step of the others",
            (
                Param(
                    "d_steps", "int", 1, "the last player's steps per update (two players)", low=1
                ),
            ),
            _alternating,
        ),
        RuleEntry(
            "momentum",
            "Momentum",
            "heavy ball: m <- beta m - D xi, theta <- theta + m (negative beta damps rotation)",
            (Param("beta", "float", 0.9, "momentum", low=-1.0, high=1.0, open_low=True),),
            _rule("Momentum"),
            training=True,
        ),
        RuleEntry(
            "adam",
            "Adam",
            "Adam on each player's own gradient (scale invariant: no linearisation at a "
            "fixed point)",
            (
                Param("beta1", "float", 0.9, "first-moment decay", low=0.0, high=1.0),
                Param("beta2", "float", 0.999, "second-moment decay", low=0.0, high=1.0),
                _EPS,
            ),
            lambda lr, beta1, beta2, eps: _rule("Adam")(lr, betas=(beta1, beta2), eps=eps),
            training=True,
            scale_invariant=True,
        ),
        RuleEntry(
            "rmsprop",
            "RMSProp",
            "RMSProp per player (scale invariant: no linearisation at a fixed point)",
            (Param("rho", "float", 0.99, "second-moment decay", low=0.0, high=1.0), _EPS),
            _rule("RMSProp"),
            training=True,
            scale_invariant=True,
        ),
        RuleEntry(
            "extragradient",
            "Extragradient",
            "extragradient: a look-ahead step, then the step with the look-ahead's field",
            (),
            _rule("Extragradient"),
            analytic="extragradient",
            training=True,
        ),
        RuleEntry(
            "optimistic",
            "OptimisticGD",
            "optimistic GD: theta <- theta - 2 D xi(theta_t) + D xi(theta_{t-1})",
            (),
            _rule("OptimisticGD"),
            training=True,
        ),
        RuleEntry(
            "proximal",
            "ProximalPoint",
            "proximal point: the implicit step theta' = theta - D xi(theta') (exact on "
            "affine games, else fixed-point iterations)",
            (Param("inner_steps", "int", 50, "fixed-point iterations (non-affine games)", low=1),),
            _rule("ProximalPoint"),
            analytic="proximal",
        ),
        RuleEntry(
            "consensus",
            "Consensus",
            "consensus optimisation: theta <- theta - D (xi + gamma J^T xi)",
            (Param("gamma", "float", 1.0, "weight of the consensus term", low=0.0),),
            _rule("Consensus"),
            analytic="consensus",
            training=True,
        ),
        RuleEntry(
            "sga",
            "SGA",
            "symplectic gradient adjustment: theta <- theta - D (xi + lam A^T xi)",
            (
                Param("lam", "float", 1.0, "adjustment weight", low=0.0),
                Param("align", "bool", True, "choose lam's sign by alignment (Letcher et al.)"),
                Param("eps", "float", 0.1, "alignment offset"),
            ),
            _rule("SGA"),
        ),
        RuleEntry(
            "cgd",
            "CGD",
            "competitive gradient descent (two players; dense solve when small, else matrix-free CG)",
            (
                Param(
                    "solver",
                    "choice",
                    "auto",
                    "auto (dense up to 256 parameters, else cgnr), dense, cg (zero-sum games) "
                    "or cgnr (any game)",
                    choices=("auto", "dense", "cgnr", "cg"),
                ),
            ),
            _rule("CGD"),
        ),
        RuleEntry(
            "lookahead",
            "LookAhead",
            "look-ahead: each player anticipates the others' step, xi - alpha H_o xi",
            (_ALPHA,),
            _rule("LookAhead"),
        ),
        RuleEntry(
            "lola",
            "LOLA",
            "learning with opponent-learning awareness (Letcher et al.'s form)",
            (_ALPHA,),
            _rule("LOLA"),
        ),
    )
}
"""Every named rule, by name, in the order ``gamedyn rules`` lists them."""

TRAINING_RULES: tuple[str, ...] = tuple(
    name for entry in RULES.values() if entry.training for name in (entry.name, *entry.aliases)
)
"""The names (and aliases) of the rules a training configuration may use."""


# -- specifications ---------------------------------------------------------------------------


class _Entry(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def params(self) -> tuple[Param, ...]: ...
    @property
    def build(self) -> Callable[..., Any]: ...


Entry = TypeVar("Entry", bound=_Entry)


def lookup(name: str, registry: Mapping[str, Entry], what: str) -> Entry:
    """The entry called ``name`` (or an alias), or a :class:`SpecError` listing the names.

    Parameters
    ----------
    name : str
    registry : mapping
        Entries by name, e.g. :data:`RULES`; an entry's ``aliases`` (if any) also find it.
    what : str
        ``"rule"`` or ``"game"``, for the message.
    """
    if name in registry:
        return registry[name]
    for entry in registry.values():
        if name in getattr(entry, "aliases", ()):
            return entry
    raise SpecError(f"{what}: unknown {what} {name!r}, expected one of {', '.join(registry)}")


@dataclass(frozen=True)
class Spec(Generic[Entry]):
    """A parsed ``NAME:key=value,...``.

    Attributes
    ----------
    entry
        The registry's entry.
    values : dict
        Every parameter's value, defaults filled in.
    given : frozenset of str
        The keys given explicitly.
    """

    entry: Entry
    values: dict[str, Any]
    given: frozenset[str]

    @property
    def text(self) -> str:
        """The canonical form: ``NAME:key=value,...`` with the non-default values only."""
        return canonical(self.entry, self.values)


def parse_spec(text: str, registry: Mapping[str, Entry], what: str) -> Spec[Entry]:
    """Parse ``NAME`` or ``NAME:key=value,...``.

    Parameters
    ----------
    text : str
    registry : mapping
        Entries by name, e.g. :data:`RULES`.
    what : str
        ``"rule"`` or ``"game"``, for the messages.

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        Unknown name or key, a key given twice, a missing ``=`` or a bad value.

    Examples
    --------
    >>> spec = parse_spec("sga:lam=0.5,align=false", RULES, "rule")
    >>> spec.entry.name, spec.values, sorted(spec.given)
    ('sga', {'lam': 0.5, 'align': False, 'eps': 0.1}, ['align', 'lam'])
    """
    name, _, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise SpecError(f"{what}: expected NAME or NAME:key=value,..., got {text!r}")
    entry = lookup(name, registry, what)
    declared = {p.name: p for p in entry.params}
    given: dict[str, Any] = {}
    for item in rest.split(",") if rest.strip() else []:
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not key:
            raise SpecError(f"{entry.name}: expected key=value, got {item.strip()!r}")
        key = canonical_parameter(entry.name, key)
        if key not in declared:
            keys = ", ".join(declared) if declared else "none (it takes no parameters)"
            raise SpecError(f"{entry.name}: unknown key {key!r}, expected {keys}")
        if key in given:
            raise SpecError(f"{entry.name}: key {key!r} given twice")
        given[key] = declared[key].parse(value, entry.name)
    values = {p.name: given.get(p.name, p.default) for p in entry.params}
    return Spec(entry, values, frozenset(given))


def canonical(entry: _Entry, values: Mapping[str, Any]) -> str:
    """``NAME:key=value,...`` with the non-default values only (``NAME`` if none)."""
    changed = [
        f"{p.name}={format_value(values[p.name])}"
        for p in entry.params
        if values[p.name] != p.default
    ]
    return entry.name + (":" + ",".join(changed) if changed else "")


def build(entry: _Entry, values: Mapping[str, Any], **extra: Any) -> Any:
    """Call the entry's constructor with ``extra`` (e.g. ``lr``) and ``values``.

    Raises
    ------
    SpecError
        The constructor's ``ValueError`` or ``TypeError``, prefixed with the entry's name.
    """
    try:
        return entry.build(**extra, **values)
    except (ValueError, TypeError) as error:
        raise SpecError(f"{entry.name}: {error}") from error


def make_rule(name: str, lr: StepSize, **values: Any) -> UpdateRule:
    """The rule called ``name`` (or an alias) with step size ``lr``.

    Parameters
    ----------
    name : str
        A key of :data:`RULES` or an alias (``"sgd"``).
    lr : float, sequence of floats or callable
        The step size (per player, or a schedule), as the rule classes take it.
    **values
        Hyper-parameters by their registry names (``gamedyn rules`` lists them); the
        others take their defaults.  Values are passed on as given (a per-player list
        where the class accepts one).

    Raises
    ------
    SpecError
        An unknown name or key, or a value the rule's class refuses.

    Examples
    --------
    >>> make_rule("adam", 1e-3, beta1=0.5).betas
    (0.5, 0.999)
    >>> make_rule("momentum", 0.1, nesterov=True)
    Traceback (most recent call last):
    ...
    dynamics.registry.SpecError: momentum: unknown key 'nesterov', expected beta
    """
    entry = lookup(name, RULES, "rule")
    declared = {p.name: p.default for p in entry.params}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        keys = ", ".join(declared) if declared else "none (it takes no parameters)"
        raise SpecError(f"{entry.name}: unknown key {unknown[0]!r}, expected {keys}")
    result: UpdateRule = build(entry, {**declared, **values}, lr=lr)
    return result
