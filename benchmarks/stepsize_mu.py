"""The central difference's relative error against mu on the two real models of ``stepsize.real_training``.

For each model (float32, pre-trained as the claim does) and each radius, ``difference_error`` on 16
Gaussian directions at mu and 2 mu, and the cause it names (docs/stepsize.md#the-finite-difference-radius)::

    PYTHONPATH=$PWD python benchmarks/stepsize_mu.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zoverify._rng import make_generator  # noqa: E402
from zoverify.claims.stepsize.networks import pretrained_char_transformer, pretrained_digits_cnn  # noqa: E402
from zoverify.numeric.curvature import ParameterHessian  # noqa: E402
from zoverify.numeric.difference import difference_error  # noqa: E402
from zoverify.perturbations import parse_law  # noqa: E402

RADII = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name, make in (("digits CNN", pretrained_digits_cnn), ("char transformer", pretrained_char_transformer)):
        model, loss_fn, _ = make(np.random.default_rng(0))
        op = ParameterHessian(model, loss_fn)
        for mu in RADII:
            err = difference_error(
                model,
                loss_fn,
                op.params,
                op.gradient,
                parse_law("gaussian"),
                mu=mu,
                generator=make_generator(args.seed),
            )
            row = {
                "model": name,
                "parameters": op.dim,
                "loss": op.loss,
                "mu": mu,
                "relative_error": err.relative_error,
                "relative_error_at_2mu": err.relative_error_at_2mu,
                "cause": err.cause,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        meta = {"date": time.strftime("%Y-%m-%d"), "seed": args.seed, "directions": 16, "dtype": "float32"}
        Path(args.json).write_text(json.dumps(meta | {"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
