"""One registry of named update rules (dynamics.registry) for the CLI and the training
configurations."""

from __future__ import annotations

import inspect
import re

import pytest

import dynamics
from dynamics.registry import RULES, TRAINING_RULES, SpecError, lookup, make_rule, parse_spec


def test_the_cli_and_the_configurations_share_the_registry():
    import analyses._registry
    import gan_models.config

    assert analyses._registry.RULES is RULES
    assert gan_models.config.RULES is TRAINING_RULES
    # every name a configuration accepted before the registry still works
    old = ("adam", "rmsprop", "sgd", "momentum", "extragradient", "optimistic", "consensus")
    assert set(old) <= set(TRAINING_RULES)
    assert lookup("sgd", RULES, "rule") is RULES["gd"]


@pytest.mark.parametrize("name", TRAINING_RULES)
def test_a_configuration_builds_the_registry_rule(name):
    from gan_models import TrainConfig, build_rule

    config = TrainConfig.from_dict(
        {"optimizer": {"rule": name, "alternating": False, "lr": [1e-3, 2e-3]}}
    )
    rule = build_rule(config)
    assert type(rule) is lookup(name, RULES, "rule").cls
    assert rule.lr == [1e-3, 2e-3]


def test_configuration_options_are_the_registry_hyper_parameters():
    from gan_models import ConfigError, TrainConfig, build_rule

    def built(optimizer):
        config = TrainConfig.from_dict({"optimizer": {"alternating": False, **optimizer}})
        return build_rule(config)

    assert built({"rule": "momentum", "options": {"beta": -0.5}}).beta == -0.5
    assert built({"rule": "consensus", "options": {"gamma": 3.0}}).gamma == 3.0
    adam = built({"rule": "adam", "betas": [0.5, 0.9], "options": {"eps": 1e-6}})
    assert adam.betas == (0.5, 0.9) and adam.eps == 1e-6
    # no option given: the class's own default
    default = inspect.signature(dynamics.RMSProp).parameters["rho"].default
    assert built({"rule": "rmsprop"}).rho == default
    bad = [
        ({"rule": "momentum", "options": {"nesterov": True}}, "momentum: unknown key 'nesterov'"),
        ({"rule": "momentum", "options": {"beta": -1.5}}, "momentum: beta: expected"),
        ({"rule": "adam", "options": {"beta1": 0.1}}, "beta1: give Adam's moment decays as"),
        ({"rule": "sgd", "options": {"beta": 0.5}}, "gd: unknown key 'beta', expected none"),
    ]
    for optimizer, message in bad:
        with pytest.raises(ConfigError, match=re.escape(f"optimizer.options: {message}")):
            built(optimizer)


def test_make_rule_and_parse_spec_agree():
    spec = parse_spec("sga:lam=0.5,align=false", RULES, "rule")
    by_spec = spec.entry.build(lr=0.1, **spec.values)
    by_name = make_rule("sga", 0.1, lam=0.5, align=False)
    assert type(by_spec) is type(by_name) is dynamics.SGA
    assert (by_spec.lam, by_spec.align, by_spec.eps) == (by_name.lam, by_name.align, by_name.eps)
    alternating = make_rule("alternating", 0.1, d_steps=3)
    assert isinstance(alternating, dynamics.AlternatingGD) and alternating.repeats == (1, 3)
    with pytest.raises(SpecError, match="rule: unknown rule 'nesterov', expected one of gd"):
        make_rule("nesterov", 0.1)
    with pytest.raises(SpecError, match="cgd: solver: expected 'auto'"):
        make_rule("cgd", 0.1, solver="qr")
