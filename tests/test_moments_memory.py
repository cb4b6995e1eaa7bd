"""moments.sampler reduces its per-sample values in streaming batches: memory does not grow with the draws.

* ``batch_sums`` gives the batch means ``BatchMeans`` forms from the full rows of ``map_blocks``
  (same blocks, same generators), including sample counts that leave rows after the last batch;
* the claim's simulation, run at 2^16 and then 2^21 draws in one fresh process, raises the peak
  resident memory by less than the 2^21 rows it would hold if it kept them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from zoverify._rng import make_generator
from zoverify.numeric._batching import batch_sums, map_blocks
from zoverify.verify.decision import BatchMeans


def _rows(n: int, gen: torch.Generator) -> torch.Tensor:
    z = torch.randn((n, 3), generator=gen, dtype=torch.float64)
    return torch.stack([z[:, 0], z[:, 1] ** 2, z.abs().sum(dim=1)], dim=1)


@pytest.mark.parametrize(("num_samples", "block_size"), [(1 << 12, 1 << 9), (5001, 700), (4096, 4096), (300, 64)])
def test_batch_sums_give_the_batch_means_of_the_rows(num_samples, block_size):
    B = 32
    rows = map_blocks(_rows, num_samples, generator=make_generator(7), block_size=block_size)
    sums = batch_sums(_rows, num_samples, generator=make_generator(7), num_batches=B, block_size=block_size)
    reference = BatchMeans(B).summarize(rows)
    means = sums.batch_means().numpy()
    # float64 sums of the same rows in another order: a few ulps of the rows' magnitudes
    scale = rows.abs().max().item()
    tol = 64 * np.finfo(float).eps * scale
    np.testing.assert_allclose(means.mean(axis=0), reference.estimate, rtol=0, atol=tol)
    np.testing.assert_allclose(means.std(axis=0, ddof=1) / np.sqrt(B), reference.stderr, rtol=1e-9)
    np.testing.assert_allclose(sums.mean().numpy(), rows.mean(dim=0).numpy(), rtol=0, atol=tol)
    assert sums.rows_per_batch == num_samples // B and sums.num_samples == num_samples


_PEAK_SCRIPT = """
import json, resource, sys, torch
from zoverify.claims.moments.sampler import MOMENTS, _setup
from zoverify.perturbations import parse_law
from zoverify.verify.claim import Context

torch.set_num_threads(1)
peaks = []
for n in (1 << 16, 1 << 21):
    ctx = Context(parse_law("gaussian"), MOMENTS.resolve_params({}), n, 0, torch.device("cpu"), torch.float64)
    observed = MOMENTS.simulate(ctx)
    MOMENTS.test.summarize(observed)
    peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
columns = len(_setup(ctx)[2]) + 4
print(json.dumps({"peaks": peaks, "columns": columns}))
"""


def test_simulation_memory_does_not_grow_with_the_draws():
    """Peak RSS after 2^21 draws less peak after 2^16 draws, against the float64 rows of 2^21 draws.

    Keeping the rows costs at least their size (2^21 x columns x 8 bytes, about 200 MB for the
    Gaussian panel); the batches' sums and one block of rows cost the same at both sizes.
    """
    out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    small, large = data["peaks"]
    rows_bytes = (1 << 21) * data["columns"] * 8
    assert large - small < rows_bytes, f"peak RSS grew by {(large - small) / 2**20:.0f} MiB from 2^16 to 2^21 draws"
