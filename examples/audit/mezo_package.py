"""The registry's ``mezo`` package (0.0.1) as a torch-update subject: its ``mezo.update``, unchanged.

``pip install --no-deps mezo==0.0.1`` (it needs only torch).  Declared: Gaussian directions
(``torch.randn`` in the parameter dtype), central differences, epsilon = 1e-3, one query,
scale 1:  zoverify audit examples/audit/mezo_package.py:update --kind torch-update --mu 1e-3
"""

import mezo

EPSILON = 1e-3


def update(model, loss_fn, lr, seed):
    """One MeZO step through the package's own code path."""
    mezo.update(model, None, lambda m, _inputs: loss_fn(m), epsilon=EPSILON, learning_rate=lr, random_seed=seed)
