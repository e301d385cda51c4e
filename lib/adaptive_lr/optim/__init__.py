"""The reference optimizers: the grading oracle of the course.

Every update rule is a small pure function with explicit state: arrays in,
new arrays out, inputs never modified, ``t`` the 1-based step index. Each
function's docstring carries its equations, where epsilon goes, and the paper.

Where each rule lives:

=================  =====================================================
``adagrad``        AdaGrad
``ema``            exponential moving averages (Adam's first moment)
``adam``           Adam, AMSGrad, Adam + coupled L2, AdamW
``adafactor``      Adafactor (factored second moment)
``layerwise``      LARS, LAMB and the trust ratio
``shampoo``        Shampoo and the inverse matrix root
``soap``           SOAP (Adam in Shampoo's eigenbasis), preview
``muon``           Newton-Schulz orthogonalization and Muon, preview
``sgd``            SGD, heavy-ball and Nesterov momentum, RMSProp
``registry``       one ``init``/``step`` convention for all of them
=================  =====================================================

This package imports only the array namespace; it knows nothing of plots,
notebooks or grading.
"""

from .adafactor import adafactor_state_size, adafactor_update, init_adafactor
from .adagrad import adagrad_effective_lr, adagrad_update, init_adagrad
from .adam import adam_l2_update, adam_update, adamw_update, amsgrad_update, init_adam, init_amsgrad
from .ema import ema_update, ema_weights
from .layerwise import init_lamb, init_lars, lamb_update, lars_update, trust_ratio
from .muon import NS_COEFFICIENTS, init_muon, muon_update, newton_schulz
from .registry import (
    MATRIX_ONLY,
    OPTIMIZERS,
    Optimizer,
    apply_to_layers,
    init_layers,
    make_optimizer,
)
from .sgd import init_momentum, init_rmsprop, momentum_update, rmsprop_update, sgd_update
from .shampoo import init_shampoo, matrix_inverse_root, shampoo_update
from .soap import SoapState, init_soap, soap_update

# The ten graded exercises, in order (see course/notation.md).
EXERCISE_FUNCTIONS = {
    1: ("adagrad_update", "adagrad_effective_lr"),
    2: ("ema_update", "ema_weights"),
    3: ("adam_update",),
    4: ("amsgrad_update",),
    5: ("adam_l2_update", "adamw_update"),
    6: ("adafactor_update",),
    7: ("lars_update",),
    8: ("trust_ratio", "lamb_update"),
    9: ("matrix_inverse_root", "shampoo_update"),
    10: ("newton_schulz", "muon_update"),
}

__all__ = [
    "EXERCISE_FUNCTIONS",
    "MATRIX_ONLY",
    "NS_COEFFICIENTS",
    "OPTIMIZERS",
    "Optimizer",
    "SoapState",
    "adafactor_state_size",
    "adafactor_update",
    "adagrad_effective_lr",
    "adagrad_update",
    "adam_l2_update",
    "adam_update",
    "adamw_update",
    "amsgrad_update",
    "apply_to_layers",
    "ema_update",
    "ema_weights",
    "init_adafactor",
    "init_adagrad",
    "init_adam",
    "init_amsgrad",
    "init_lamb",
    "init_lars",
    "init_layers",
    "init_momentum",
    "init_muon",
    "init_rmsprop",
    "init_shampoo",
    "init_soap",
    "lamb_update",
    "lars_update",
    "make_optimizer",
    "matrix_inverse_root",
    "momentum_update",
    "muon_update",
    "newton_schulz",
    "rmsprop_update",
    "sgd_update",
    "shampoo_update",
    "soap_update",
    "trust_ratio",
]
