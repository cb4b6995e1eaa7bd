"""Monte Carlo claims reduce their rows while streaming: the batch-means test on ``BatchSums`` is the test on
the rows, and every sampling claim judged by batch means hands the test sums, not rows.

* ``BatchMeans.summarize`` on the sums of a stream gives the estimate, standard error and degrees of freedom
  it gives on the stream's rows (with and without an exact variance); a stream cut into other batches than
  the test's, or too short, is refused with the reason;
* ``BatchSums.columns`` of two streams is the sums of their rows side by side; streams of other lengths are
  refused;
* ``rows_or_sums`` gives the rows of ``map_blocks`` or their sums, from the same draws;
* every default-tier claim whose test is batch means, run at a small sample count, returns ``BatchSums``
  (its memory does not grow with ``--samples``); the claims that still return rows are named with the
  reason (the row count they hold is their sample count, bounded by what a run can afford);
* a root found over N samples does not keep them alive after it returns (scipy's ``brentq`` holds its
  function in a reference cycle, so ``stepsize.slq_eta_star``'s 99 roots held 99 copies of its probes).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zoverify import claims  # noqa: F401  (registers the claims)
from zoverify._errors import InvalidParameterError
from zoverify._rng import make_generator
from zoverify.numeric._batching import (
    DEFAULT_BATCHES,
    BatchAccumulator,
    BatchSums,
    batch_sums,
    map_blocks,
    rows_or_sums,
)
from zoverify.perturbations import parse_law
from zoverify.verify.claim import Context
from zoverify.verify.decision import BatchMeans, SidedBatchMeans
from zoverify.verify.registry import select


def _rows(n: int, gen: torch.Generator) -> torch.Tensor:
    z = torch.randn((n, 2), generator=gen, dtype=torch.float64)
    return torch.stack([1.0 + z[:, 0], z[:, 1] ** 2], dim=1)


@pytest.mark.parametrize("num_samples", [4096, 5001, 64])
def test_batch_means_on_sums_is_the_test_on_rows(num_samples):
    rows = map_blocks(_rows, num_samples, generator=make_generator(3), block_size=700)
    sums = batch_sums(_rows, num_samples, generator=make_generator(3), block_size=700)
    on_rows, on_sums = BatchMeans().summarize(rows), BatchMeans().summarize(sums)
    scale = float(rows.abs().max())
    np.testing.assert_allclose(on_sums.estimate, on_rows.estimate, rtol=0, atol=64 * np.finfo(float).eps * scale)
    np.testing.assert_allclose(on_sums.stderr, on_rows.stderr, rtol=1e-9)
    assert on_sums.df == on_rows.df == DEFAULT_BATCHES - 1 and on_sums.method == on_rows.method
    variance = np.array([1.0, 2.0])
    exact_rows, exact_sums = (BatchMeans().summarize(x, variance=variance) for x in (rows, sums))
    np.testing.assert_allclose(exact_sums.estimate, exact_rows.estimate, rtol=1e-12)
    np.testing.assert_allclose(exact_sums.stderr, np.sqrt(variance / num_samples), rtol=1e-15)
    assert exact_sums.df is None
    sided = SidedBatchMeans(sides=(1, -1)).summarize(sums)
    np.testing.assert_array_equal(sided.sides, [1, -1])


def test_sums_in_other_batches_or_too_few_are_refused():
    sums = batch_sums(_rows, 4096, generator=make_generator(3), num_batches=16)
    with pytest.raises(InvalidParameterError, match="16 batches, the test needs 32"):
        BatchMeans().summarize(sums)
    short = batch_sums(_rows, 63, generator=make_generator(3))
    with pytest.raises(InvalidParameterError, match="at least 64 samples"):
        BatchMeans().summarize(short)


def test_columns_stand_streams_side_by_side():
    a = batch_sums(_rows, 3000, generator=make_generator(1), block_size=512)
    b = batch_sums(lambda n, g: _rows(n, g)[:, :1] * 3, 3000, generator=make_generator(2), block_size=512)
    both = BatchSums.columns([a, b])
    rows = torch.cat(
        [
            map_blocks(_rows, 3000, generator=make_generator(1), block_size=512),
            map_blocks(lambda n, g: _rows(n, g)[:, :1] * 3, 3000, generator=make_generator(2), block_size=512),
        ],
        dim=1,
    )
    whole = BatchMeans().summarize(rows)
    np.testing.assert_allclose(BatchMeans().summarize(both).estimate, whole.estimate, rtol=1e-12)
    np.testing.assert_allclose(BatchMeans().summarize(both).stderr, whole.stderr, rtol=1e-9)
    with pytest.raises(InvalidParameterError, match="same length"):
        BatchSums.columns([a, batch_sums(_rows, 3001, generator=make_generator(1))])


def test_rows_or_sums_are_the_same_draws():
    rows = rows_or_sums(_rows, 1000, generator=make_generator(5), block_size=128)
    sums = rows_or_sums(_rows, 1000, generator=make_generator(5), block_size=128, batches=8)
    assert isinstance(rows, torch.Tensor) and rows.shape == (1000, 2)
    assert isinstance(sums, BatchSums) and sums.sums.shape == (8, 2)
    np.testing.assert_allclose(sums.total.numpy(), rows.sum(dim=0).numpy(), rtol=1e-12)


#: batch-means claims that still hand the test their rows, and why that is bounded
ROWS_KEPT = {
    # the audit claims average the subject's rows in 256 groups as they arrive (memory O(groups))
    "audit.estimator_mean": "grouped",
    "audit.estimator_second_moment": "grouped",
    "audit.estimator_mean_forward": "grouped",
    "audit.estimator_second_moment_q4": "grouped",
    "audit.estimator_second_moment_forward": "grouped",
    "audit.estimator_mean_cubic": "grouped",
    "audit.estimator_mean_cubic_forward": "grouped",
    "audit.estimator_conditional_mean": "grouped",
    # 32 and 512 whole training runs: a sample is a trajectory of the kernel-gradient or the shared-NZK run
    "nzk.headline_kernel_zo": "trajectories",
    "nzk.headline_best_of": "trajectories",
}


def _batch_means_claims():
    out = []
    for entry in select():
        claim = entry.load()
        if isinstance(claim.test, BatchMeans) and claim.num_samples > 1 and entry.name not in ROWS_KEPT:
            out.append(entry.name)
    return out


@pytest.mark.parametrize("name", _batch_means_claims())
def test_batch_means_claims_hand_the_test_sums(name):
    claim = select([name])[0].load()
    law = parse_law(claim.laws[0])
    ctx = Context(law, claim.resolve_params({}), 256, 0, torch.device("cpu"), torch.float64)
    observed = claim.simulate(ctx)
    assert isinstance(observed, BatchSums), f"{name} returns {type(observed).__name__}, not BatchSums"
    assert observed.num_samples == 256 and observed.sums.shape[0] == claim.test.num_batches


def _audit_ctx(name: str, num_samples: int = 256):
    entry = select([name])[0]
    return Context(parse_law("gaussian"), entry.resolve_params({}), num_samples, 3, torch.device("cpu"), torch.float64)


def test_replicate_seeds_are_distinct_reproducible_and_made_on_demand():
    from zoverify.claims.audit.common import replicate_seeds

    ctx = _audit_ctx("audit.estimator_mean")
    seeds = replicate_seeds(ctx, 5000)
    values = list(seeds)
    assert len(values) == len(seeds) == 5000 and len(set(values)) == 5000
    assert all(0 <= s < 2**31 - 1 for s in values)
    assert values == replicate_seeds(ctx, 5000).tolist() and values[:10] == seeds[:10].tolist()
    assert seeds[-1] == values[-1] and seeds[4096] == values[4096]
    other = replicate_seeds(ctx, 5000, stream=1).tolist()
    assert other != values  # another stream, other instances
    # a run of 2^24 instances: the sequence holds three integers, not 2^24 of them
    assert len(replicate_seeds(ctx, 1 << 24)) == 1 << 24


def test_probe_map_moments_are_the_moments_of_the_maps():
    """The streamed group moments against maps probed one at a time and reduced afterwards."""
    from zoverify.claims.audit.common import hessian, optimizer_subject, replicate_seeds
    from zoverify.claims.audit.optimizer import probe_map_moments

    ctx = _audit_ctx("audit.optimizer_stable_step")
    dim = ctx["dim"]
    H = hessian(ctx, dim)
    lr = 1.0 / np.trace(H)
    seeds = replicate_seeds(ctx, 70)
    moments, sizes, mean_map = probe_map_moments(ctx, H, lr, seeds, groups=4)
    subject = optimizer_subject(ctx)
    basis = np.vstack([np.zeros(dim), np.eye(dim)])
    maps = []
    for seed in seeds:
        x1 = np.stack([subject.instance(x0, lr, int(seed)).step(lambda y: float(0.5 * y @ H @ y)) for x0 in basis])
        maps.append(((basis[1:] - x1[1:]) + x1[0]).T / lr)
    c = np.concatenate([np.ones((70, 1)), np.reshape(maps, (70, -1))], axis=1)
    expected = [c[g].T @ c[g] for g in np.array_split(np.arange(70), 4)]
    np.testing.assert_array_equal(sizes, [18, 18, 17, 17])
    np.testing.assert_allclose(moments, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mean_map, np.mean(maps, axis=0), rtol=1e-12, atol=1e-14)


def test_accumulator_refuses_extra_rows_and_an_unfinished_stream():
    acc = BatchAccumulator(100, num_batches=4)
    acc.add(np.ones((60, 2)))
    with pytest.raises(InvalidParameterError, match="60 of 100 rows"):
        acc.result()
    with pytest.raises(InvalidParameterError, match="120 rows added to a stream of 100"):
        acc.add(np.ones((60, 2)))
    acc.add(np.arange(80).reshape(40, 2))
    out = acc.result()
    np.testing.assert_allclose(out.sums[:, 0].numpy(), [25, 25, 10 + sum(range(0, 30, 2)), sum(range(30, 80, 2))])
    np.testing.assert_allclose(out.total.numpy(), [60 + sum(range(0, 80, 2)), 60 + sum(range(1, 80, 2))])


def test_a_lower_tail_decides_as_the_full_draws_do():
    """QuantileBound on the kept lower tail: the same counts, quantile, threshold and decisions as on every draw."""
    from zoverify.numeric._batching import LowerTailAccumulator
    from zoverify.verify.slope import QuantileBound

    rng = np.random.default_rng(11)
    draws = rng.gamma(3.0, size=(20_000, 2)) + np.array([0.0, 5.0])
    delta = 0.1
    tail = LowerTailAccumulator(5000)
    for start in range(0, 20_000, 777):
        tail.add(draws[start : start + 777])
    kept = tail.result()
    assert kept.num_draws == 20_000 and kept.lowest.shape == (5000, 2)
    np.testing.assert_array_equal(kept.lowest.numpy(), np.sort(draws, axis=0)[:5000])
    full, short = QuantileBound(delta).summarize(draws), QuantileBound(delta).summarize(kept)
    np.testing.assert_allclose(short.estimate, np.quantile(draws, delta, axis=0), rtol=1e-15)
    np.testing.assert_allclose(full.estimate, short.estimate, rtol=1e-15)
    q = np.quantile(draws, delta, axis=0)
    for t in (q * 0.97, q * 1.03, q * 1.5, q * 3.0):  # near misses either side, and far past the kept tail
        a, b = full.decide(t, alpha=1e-4), short.decide(t, alpha=1e-4)
        assert a.passed == b.passed
        np.testing.assert_array_equal(a.ci_high, b.ci_high)
    # a tail shorter than the count that decides is refused, never judged
    few = LowerTailAccumulator(100)
    few.add(draws)
    with pytest.raises(ValueError, match="smallest of 20000 draws were kept"):
        QuantileBound(delta).summarize(few.result()).decide(q, alpha=1e-4)


def test_the_slope_test_on_sums_is_the_test_on_rows():
    from zoverify.verify.slope import LogLogSlope

    x = np.array([1.0, 2.0, 4.0, 8.0])

    def rows(n, gen):  # exponential y_g with mean 1 / x_g (slope -1), then their squares
        y = -torch.log(torch.rand((n, 4), generator=gen, dtype=torch.float64)) / torch.as_tensor(x)
        return torch.cat([y, y * y], dim=1)

    parts = map_blocks(rows, 5000, generator=make_generator(2), block_size=999)
    sums = BatchAccumulator(5000)
    sums.add(parts)
    on_rows = LogLogSlope().summarize([(x, parts[:, :4].T.numpy())])
    on_sums = LogLogSlope().summarize([(x, sums.result())])
    np.testing.assert_allclose(on_sums.estimate, on_rows.estimate, rtol=1e-12)
    np.testing.assert_allclose(on_sums.stderr, on_rows.stderr, rtol=1e-9)
    np.testing.assert_allclose(on_sums.log_bias, on_rows.log_bias, rtol=1e-9)
    with pytest.raises(ValueError, match="8 columns"):
        LogLogSlope().summarize([(x, batch_sums(lambda n, g: rows(n, g)[:, :4], 5000, generator=make_generator(2)))])


@pytest.mark.parametrize("n", [64, 100, 3333])
def test_batch_means_by_hand(n):
    """The batch-means summary against a loop written out here: B = 32 batches of n // 32 rows (the rows after
    the last batch dropped), the t standard error with ddof = 1 and B - 1 degrees of freedom."""
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, 2)) * [1.0, 4.0] + [0.5, -2.0]
    m = n // 32
    means = [[sum(x[b * m + i, j] for i in range(m)) / m for j in range(2)] for b in range(32)]
    grand = [sum(row[j] for row in means) / 32 for j in range(2)]
    se = [math.sqrt(sum((row[j] - grand[j]) ** 2 for row in means) / 31 / 32) for j in range(2)]
    streamed = BatchAccumulator(n)
    streamed.add(x[: n // 3])
    streamed.add(x[n // 3 :])
    for observed in (x, streamed.result()):
        s = BatchMeans().summarize(observed)
        np.testing.assert_allclose(s.estimate, grand, rtol=1e-12)
        np.testing.assert_allclose(s.stderr, se, rtol=1e-12)
        assert s.df == 31


# -- classes the sixth red team found: a step size a near miss off, a stream reused, sizes off the defaults ----


def _ctx(name: str, law: str, n: int, **params):
    claim = select([name])[0].load()
    return claim, Context(parse_law(law), claim.resolve_params(params), n, 0, torch.device("cpu"), torch.float64)


def test_bcd_decay_chains_run_at_their_own_orders_edge(monkeypatch):
    """The chains step at fraction x eta* of the law's own block order (cyclic: a fresh permutation per epoch,
    'reshuffled'; iid: 'uniform'), computed here from the operator; the two orders' edges differ by 0.6-1.6 %,
    a step-size slip the decay's Monte Carlo cannot resolve."""
    from zoverify.claims.structured import bcd
    from zoverify.symbolic.bcd_stability import bcd_eta_star_operator

    seen: list[float] = []
    real = bcd.bcd_chain_second_moments

    def spy(law, H, x0, *, eta, **options):
        seen.append(eta)
        return real(law, H, x0, eta=eta, **options)

    monkeypatch.setattr(bcd, "bcd_chain_second_moments", spy)
    for spec, order in (("block(blocks=4, order='cyclic')", "reshuffled"), ("block(blocks=4)", "uniform")):
        seen.clear()
        claim, ctx = _ctx("structured.bcd_decay", spec, 256)
        claim.simulate(ctx)
        rot, _ = bcd._bcd_decay_setup(ctx)
        expected = [
            0.5 * bcd_eta_star_operator(rot, blocks=4, scaled=True, method=m, beta=b, order=order)
            for m, b in (("gd", 0.0), ("gdm", 0.5))
        ]
        np.testing.assert_allclose(seen, expected, rtol=1e-12)


def test_the_two_stages_of_a_synthetic_check_draw_disjoint_data():
    """checker.sequential_design's exact rates assume independent stages: stage 2 must not replay stage 1."""
    from zoverify.claims.checker.sequential import _experiment, stage_sizes

    n1, n2 = stage_sizes()
    experiment = _experiment(12345, 1.0)
    first = np.asarray(experiment.simulate(_ctx("checker.sequential_design", "gaussian", n1)[1]))
    second = np.asarray(experiment.simulate(_ctx("checker.sequential_design", "gaussian", n2)[1]))
    assert first.shape[0] == n1 and second.shape[0] == n2
    assert not np.isin(first, second).any()


def test_torch_update_mean_decides_below_its_minimum_of_64_updates():
    """Fewer samples than the claim's floor of 64 updates: the floor applies, and a verdict comes back."""
    from zoverify.verify.check import check

    result = check(select(["audit.torch_update_mean"])[0], num_samples=16)
    assert result.verdict in ("pass", "inconclusive") and result.num_samples == 16


def test_engine_decay_setups_follow_the_fraction():
    """Two runs in one process with another fraction: the predictions move (no stale cached setups)."""
    claim, half = _ctx("stability.mc_decay_engines", "gaussian", 256, fraction=0.5)
    _, third = _ctx("stability.mc_decay_engines", "gaussian", 256, fraction=0.3)
    a, b, again = claim.predict(half), claim.predict(third), claim.predict(half)
    assert np.all(np.asarray(a) != np.asarray(b)) and np.array_equal(a, again)


def test_a_moment_on_the_bound_is_refused():
    """Student t with nu = 8 has moments below order 8 only: an order-8 observation is refused at nu = 8 and
    accepted at nu = 9 (the boundary itself, a near miss)."""
    from zoverify.claims.nzk.common import needs_moments

    assert needs_moments(8, parse_law("student_t(nu=8)")) is not None
    assert needs_moments(8, parse_law("student_t(nu=9)")) is None
    assert needs_moments(7, parse_law("student_t(nu=8)")) is None


def _held_after(call) -> bool:
    """Whether ``call(nodes, weights)`` leaves its arrays alive, with the cycle collector off (it rarely runs)."""
    import gc
    import weakref

    rng = np.random.default_rng(0)
    nodes, weights = rng.uniform(0.0, 5.0, (200, 12)), np.full((200, 12), 310 / 12 / 200)
    refs = weakref.ref(nodes), weakref.ref(weights)
    gc.disable()
    try:
        call(nodes, weights)
        del nodes, weights
        return any(r() is not None for r in refs)
    finally:
        gc.enable()


def test_a_root_over_the_probes_lets_them_go():
    from zoverify.numeric._compat import brentq
    from zoverify.numeric.stepsize import structured_setting, weighted_eta_star

    assert not _held_after(lambda x, w: brentq(lambda t: float(w.sum() * t - x.mean()), 0.0, 10.0))
    setting = structured_setting(1.0, 1.0, 2.0, method="gd", beta=0.0, q=1)
    assert not _held_after(lambda x, w: weighted_eta_star(x, w, setting, lambda_max=5.0))
