"""The registry finds the rules: a new rule is its module (and its test file), listed nowhere else."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from adaptive_lr import optim
from adaptive_lr.optim import registry
from adaptive_lr.optim.spec import FAMILIES, RuleSpec

PACKAGE = Path(optim.__file__).parent

# A rule the library does not have (signSGD with momentum), written as a new module would be.
NEW_RULE = '''
"""signSGD with momentum: the sign of the momentum buffer."""

from typing import Any, NamedTuple

from .. import validation as check
from .spec import RuleSpec, zeros_init

__all__ = ["SignumState", "init_signum", "signum_update"]


class SignumState(NamedTuple):
    m: Any
    """the moving average of gradients."""


init_signum = zeros_init(SignumState, "Signum")


def signum_update(theta, grad, m, lr=1e-3, beta=0.9):
    """One Signum step. Returns ``(theta, m)``."""
    xp = check.update_arrays(theta=theta, grad=grad, m=m)
    m = beta * m + (1.0 - beta) * grad
    return theta - lr * xp.sign(m), m


SPECS = (RuleSpec("signum", signum_update, init_signum, SignumState, "Sign methods: Lion", tour_lr=0.05),)
'''

CHECK = """
import numpy as np
from adaptive_lr import optim, tour
from adaptive_lr.optim import signum_update, init_signum

assert "signum" in optim.OPTIMIZERS and "signum_update" in optim.__all__
assert optim.OPTIMIZERS[-2:] == ("lion", "signum"), optim.OPTIMIZERS  # its family, after Lion
assert tour.LEARNING_RATES["signum"] == 0.05
opt = optim.make_optimizer("signum", lr=0.5)
theta, state = opt.step(np.zeros(3), np.array([2.0, -1.0, 0.0]), opt.init(np.zeros(3)), 1)
assert theta.tolist() == [-0.5, 0.5, 0.0], theta
print("found")
"""


def test_every_module_that_declares_rules_is_found():
    declaring = {
        p.stem for p in PACKAGE.glob("*.py") if "\nSPECS = " in p.read_text(encoding="utf-8")
    }
    found = {m.__name__.rpartition(".")[2] for m in registry.RULE_MODULES}
    assert found == declaring


def test_each_rule_is_exported_with_its_init_and_state():
    for spec in optim.SPECS.values():
        assert getattr(optim, spec.update.__name__) is spec.update
        assert getattr(optim, spec.state.__name__, spec.state) is spec.state
        assert spec.update.__name__ in optim.__all__


def test_specs_are_grouped_by_family_in_order():
    ranks = [
        FAMILIES.index(s.family) if s.family in FAMILIES else len(FAMILIES)
        for s in optim.SPECS.values()
    ]
    assert ranks == sorted(ranks)


def test_two_rules_with_one_name_are_refused():
    spec = optim.SPECS["adam"]

    class Twice:
        SPECS = (spec, RuleSpec("adam", spec.update, spec.init, spec.state, "other", 0.1))

    with pytest.raises(RuntimeError, match="two rules are named 'adam'"):
        registry._by_name([Twice])


@pytest.mark.slow
def test_a_new_rule_module_alone_makes_a_registered_exported_rule(tmp_path):
    """Copy the library, add one module, and nothing else: the rule is registered, exported, toured."""
    lib = tmp_path / "lib"
    shutil.copytree(PACKAGE.parent, lib / "adaptive_lr", ignore=shutil.ignore_patterns("__pycache__"))
    (lib / "adaptive_lr" / "optim" / "signum.py").write_text(textwrap.dedent(NEW_RULE))
    proc = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=tmp_path,
        env={"PYTHONPATH": str(lib), "MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and "found" in proc.stdout, proc.stdout + proc.stderr
