"""The real-model lab: a tiny character-level transformer trained by the library's own rules.

=============  ====================================================================
``data``       the corpus (Shakespeare's sonnets, shipped here), characters, batches
``model``      a GPT-style transformer as a dict of torch tensors and a pure loss
``methods``    how each optimizer of the comparison is applied (which rule per tensor)
``train``      the training loop, the per-layer dashboard, state memory, cached runs
``student``    a student's ``adamw_update`` taken from their exercise notebook
=============  ====================================================================

Why torch tensors, not NumPy: torch's autograd gives the gradients of the
transformer, and the update rules of :mod:`adaptive_lr.optim` only use the
array API, so through ``array_api_compat`` they run on the very tensors that
autograd returns. The library stays the single implementation of every rule,
with no second (hand-written NumPy) backward pass through attention and no
copy of every parameter to NumPy and back at every step. A student's function
written with ``np.*`` calls is the exception: it gets NumPy copies (see
:mod:`adaptive_lr.lab.student`). torch rather than JAX because the rules'
argument checks call ``float()`` on arrays, which works eagerly but not under
``jax.jit``, and eager JAX is slower here than eager torch.
"""
