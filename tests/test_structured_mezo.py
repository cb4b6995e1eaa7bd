"""MeZO / MeZO-BCD steps: exact restore per dtype, regeneration, block locality, estimator on a quadratic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from zoverify._errors import InvalidParameterError
from zoverify._rng import make_generator
from zoverify.numeric.mezo import (
    ZOStep,
    _direction,
    block_schedule,
    partition_parameters,
    run_zo_sgd,
)
from zoverify.symbolic.structured import block_sizes
from zoverify.verify.decision import BatchMeans

DTYPES = [torch.float64, torch.float32, torch.bfloat16, torch.float16]


def _net(dtype):
    gen = make_generator(0)
    lin1, lin2 = torch.nn.Linear(8, 16), torch.nn.Linear(16, 1)
    with torch.no_grad():
        for p in (*lin1.parameters(), *lin2.parameters()):
            p.copy_(torch.randn(p.shape, generator=gen))
    net = torch.nn.Sequential(lin1, torch.nn.Tanh(), lin2).to(dtype)
    X = torch.randn(32, 8, generator=gen).to(dtype)
    return net, lambda: net(X).float().pow(2).mean()


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("num_blocks", [1, 5])
def test_exact_restore_is_bitwise_in_every_dtype(dtype, num_blocks):
    net, loss = _net(dtype)
    before = [p.detach().clone() for p in net.parameters()]
    stepper = ZOStep(list(net.parameters()), num_blocks=num_blocks, restore="exact")
    for seed in range(20):
        stepper.projected_gradient(loss, eps=1e-2, seed=seed, block=seed % num_blocks)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
def test_naive_mezo_restore_drifts_in_low_precision(dtype):
    # the known failure: p + eps z - 2 eps z + eps z rounds three times (deterministic at this seed)
    net, loss = _net(dtype)
    before = [p.detach().clone() for p in net.parameters()]
    stepper = ZOStep(list(net.parameters()), restore="naive")
    for seed in range(20):
        stepper.projected_gradient(loss, eps=1e-2, seed=seed)
    changed = sum(int((a != b).sum()) for a, b in zip(before, net.parameters(), strict=True))
    assert changed > 0


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_zero_learning_rate_step_leaves_parameters_bitwise_unchanged(dtype):
    net, loss = _net(dtype)
    before = [p.detach().clone() for p in net.parameters()]
    ZOStep(list(net.parameters()), num_blocks=3).step(loss, lr=0.0, eps=1e-2, seed=7, block=2)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_block_step_changes_only_its_block():
    net, loss = _net(torch.float64)
    params = list(net.parameters())
    flat_before = torch.cat([p.detach().reshape(-1) for p in params])
    stepper = ZOStep(params, num_blocks=4)
    stepper.step(loss, lr=0.1, eps=1e-3, seed=3, block=2)
    flat_after = torch.cat([p.detach().reshape(-1) for p in params])
    changed = (flat_after != flat_before).nonzero().ravel()
    sizes = block_sizes(flat_before.numel(), 4)
    lo = sum(sizes[:2])
    assert changed.numel() > 0 and changed.min() >= lo and changed.max() < lo + sizes[2]


@given(sizes=st.lists(st.integers(1, 9), min_size=1, max_size=5), blocks=st.integers(1, 12))
def test_partition_matches_the_block_law_partition(sizes, blocks):
    params = [torch.zeros(s) for s in sizes]
    total = sum(sizes)
    if blocks > total:
        with pytest.raises(InvalidParameterError):
            partition_parameters(params, blocks)
        return
    parts = partition_parameters(params, blocks)
    assert [sum(s.stop - s.start for s in segs) for segs in parts] == block_sizes(total, blocks)


def test_quadratic_step_is_the_two_point_estimator_along_the_regenerated_direction():
    d, B, block = 12, 3, 1
    rng = np.random.default_rng(0)
    G = rng.standard_normal((d, d))
    H = torch.as_tensor(G @ G.T / d)
    x = torch.as_tensor(rng.standard_normal(d)).requires_grad_(False)
    x0 = x.clone()
    stepper = ZOStep([x], num_blocks=B, scaled=True)
    proj = stepper.step(lambda: 0.5 * x @ H @ x, lr=0.05, eps=1e-3, seed=11, block=block)
    seg = stepper.blocks[block][0]
    z = torch.zeros(d, dtype=torch.float64)
    z[seg.start : seg.stop] = np.sqrt(B) * _direction(11, seg, x)
    g = H @ x0
    # exact on a quadratic up to rounding: |error| <= 4 u (|f+| + |f-|) / (2 eps), u = 2^-53
    fp = 0.5 * (x0 + 1e-3 * z) @ H @ (x0 + 1e-3 * z)
    tol = 4 * 2.0**-53 * 2 * float(fp.abs()) / 2e-3
    assert abs(proj - float(z @ g)) <= tol
    torch.testing.assert_close(x, x0 - 0.05 * proj * z, rtol=0, atol=1e-14)


def test_mean_full_step_is_minus_lr_times_gradient():
    # E[x+ - x] = -lr E[z z^T] g = -lr g for full MeZO; a calibrated batch-means test at alpha = 1e-4
    d, n, lr = 6, 4096, 0.1
    rng = np.random.default_rng(1)
    H = torch.as_tensor(np.diag(np.linspace(0.5, 2.0, d)))
    x0 = torch.as_tensor(rng.standard_normal(d))
    g = H @ x0
    deltas = []
    for seed in range(n):
        x = x0.clone()
        ZOStep([x]).step(lambda x=x: 0.5 * x @ H @ x, lr=lr, eps=1e-3, seed=seed)
        deltas.append((x - x0).numpy())
    summary = BatchMeans().summarize(np.array(deltas))
    assert summary.decide((-lr * g).numpy(), alpha=1e-4).passed
    assert not summary.decide((-lr * 1.3 * g).numpy(), alpha=1e-4).passed


def test_schedule_and_run_reduce_a_quadratic():
    gen = make_generator(0)
    cyc = block_schedule(12, 4, order="cyclic", generator=gen)
    assert all(sorted(cyc[i : i + 4]) == [0, 1, 2, 3] for i in range(0, 12, 4))
    with pytest.raises(InvalidParameterError, match="order"):
        block_schedule(3, 2, order="greedy", generator=gen)
    x = torch.ones(8, dtype=torch.float64)
    hist = run_zo_sgd([x], lambda: 0.5 * x @ x, num_steps=400, lr=0.1, eps=1e-3, generator=gen, num_blocks=4)
    assert hist[-1] < 1e-3 * hist[0]


class _CountingStep(ZOStep):
    copied: list[int]

    def _restore_copy(self, views):
        self.copied.append(sum(v.numel() for v in views))
        return super()._restore_copy(views)


@pytest.mark.parametrize(("num_blocks", "restore"), [(1, "exact"), (5, "exact"), (5, "naive")])
def test_exact_restore_copies_only_the_perturbed_entries(num_blocks, restore):
    # the memory trade-off in the module docstring: r of d entries for BCD, all d for full MeZO, none for naive
    net, loss = _net(torch.float32)
    params = list(net.parameters())
    d = sum(p.numel() for p in params)
    stepper = _CountingStep(params, num_blocks=num_blocks, restore=restore)
    stepper.copied = []
    sizes = block_sizes(d, num_blocks)
    for b in range(num_blocks):
        stepper.projected_gradient(loss, eps=1e-3, seed=b, block=b)
        assert stepper.restore_buffer_numel(b) == (sizes[b] if restore == "exact" else 0)
    assert stepper.copied == ([int(s) for s in sizes] if restore == "exact" else [])


def test_bcd_chains_refuse_a_record_that_splits_an_epoch():
    from zoverify._errors import InvalidParameterError
    from zoverify._rng import make_generator
    from zoverify.numeric.mezo import bcd_chain_second_moments
    from zoverify.perturbations import parse_law

    law = parse_law("block(blocks=4, order='cyclic')")
    with pytest.raises(InvalidParameterError, match="multiple of the 4 blocks"):
        bcd_chain_second_moments(
            law, np.eye(6), np.ones(6), eta=0.1, record=(6,), num_chains=4, generator=make_generator(0)
        )


def test_bcd_chains_step_every_block_once_per_cyclic_epoch():
    # exact checks: at eta = 0 no chain moves, and every epoch of the schedule the chains use is a permutation
    from zoverify._rng import make_generator
    from zoverify.numeric.mezo import bcd_chain_second_moments
    from zoverify.perturbations import parse_law

    law = parse_law("block(blocks=3, order='cyclic')")
    out = bcd_chain_second_moments(
        law, np.eye(6), np.ones(6), eta=0.0, record=(3, 6), num_chains=5, generator=make_generator(1)
    )
    assert torch.allclose(out, torch.full((5, 2), 6.0, dtype=out.dtype))
    blocks = law.sample_blocks(5 * 6, generator=make_generator(2)).reshape(5, 2, 3)
    assert (blocks.sort(dim=-1).values == torch.arange(3)).all()
