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
``spec``           one ``RuleSpec`` per rule, from which every table derives
``adadelta``       Adadelta
``radam``          RAdam (rectified Adam, a built-in warm-up)
``nadam``          NAdam (Nesterov momentum in Adam)
``adamax``         AdaMax (the infinity-norm Adam)
``adam8bit``       Adam with 8-bit block-wise quantized moments
``lion``           Lion (sign of an interpolated momentum)
``registry``       one ``init``/``step`` convention for all of them
=================  =====================================================

This package imports only the array namespace; it knows nothing of plots,
notebooks or grading.
"""

from .adadelta import AdadeltaState, adadelta_update, init_adadelta
from .adafactor import adafactor_state_size, adafactor_update, init_adafactor
from .adagrad import adagrad_effective_lr, adagrad_update, init_adagrad
from .adam import (
    AdamState,
    AmsgradState,
    adam_l2_update,
    adam_update,
    adamw_update,
    amsgrad_update,
    init_adam,
    init_amsgrad,
)
from .adam8bit import (
    Adam8bitState,
    adam8bit_state_bytes,
    adam8bit_update,
    dequantize_blockwise,
    dynamic_map,
    init_adam8bit,
    quantize_blockwise,
)
from .adamax import AdamaxState, adamax_update, init_adamax
from .ema import ema_update, ema_weights
from .layerwise import init_lamb, init_lars, lamb_update, lars_update, trust_ratio
from .lion import LionState, init_lion, lion_update
from .muon import NS_COEFFICIENTS, init_muon, muon_update, newton_schulz
from .nadam import NAdamState, init_nadam, nadam_update
from .radam import radam_update
from .registry import (
    MATRIX_ONLY,
    OPTIMIZERS,
    SPECS,
    Optimizer,
    apply_to_layers,
    init_layers,
    learning_rate,
    make_optimizer,
)
from .sgd import init_momentum, init_rmsprop, momentum_update, rmsprop_update, sgd_update
from .shampoo import init_shampoo, matrix_inverse_root, shampoo_update
from .soap import SoapState, init_soap, soap_update
from .spec import RuleSpec

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
    "Adam8bitState",
    "AdadeltaState",
    "AdamState",
    "AdamaxState",
    "AmsgradState",
    "EXERCISE_FUNCTIONS",
    "LionState",
    "NAdamState",
    "MATRIX_ONLY",
    "NS_COEFFICIENTS",
    "OPTIMIZERS",
    "Optimizer",
    "RuleSpec",
    "SPECS",
    "SoapState",
    "adadelta_update",
    "adam8bit_state_bytes",
    "adam8bit_update",
    "adamax_update",
    "adafactor_state_size",
    "adafactor_update",
    "adagrad_effective_lr",
    "adagrad_update",
    "adam_l2_update",
    "adam_update",
    "adamw_update",
    "amsgrad_update",
    "apply_to_layers",
    "dequantize_blockwise",
    "dynamic_map",
    "ema_update",
    "ema_weights",
    "init_adadelta",
    "init_adafactor",
    "init_adam8bit",
    "init_adamax",
    "init_adagrad",
    "init_adam",
    "init_amsgrad",
    "init_lamb",
    "init_lars",
    "init_layers",
    "init_momentum",
    "init_lion",
    "init_muon",
    "init_nadam",
    "init_rmsprop",
    "init_shampoo",
    "init_soap",
    "lamb_update",
    "lars_update",
    "learning_rate",
    "lion_update",
    "make_optimizer",
    "matrix_inverse_root",
    "momentum_update",
    "muon_update",
    "nadam_update",
    "quantize_blockwise",
    "radam_update",
    "newton_schulz",
    "rmsprop_update",
    "sgd_update",
    "shampoo_update",
    "soap_update",
    "trust_ratio",
]
