"""Block-coordinate ZO eta*: closed forms against the library's dense operator, bounds, orders, mutants."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy import optimize

from zoverify._errors import InvalidParameterError
from zoverify.numeric.stability_operator import DenseOperator
from zoverify.perturbations import parse_law
from zoverify.symbolic import symbols as S
from zoverify.symbolic.bcd_stability import (
    bcd_aligned_eta_star,
    bcd_eta_star_bounds,
    bcd_eta_star_general,
    bcd_eta_star_operator,
    bcd_gain,
    bcd_isotropic_eta_star,
    diagonal_blocks,
    epoch_operator,
    gaussian_eta_star,
    is_block_aligned,
)
from zoverify.symbolic.stability import gain
from zoverify.symbolic.structured import B, block_index

SPEC = np.array((3.0, 2.0, 1.0, 0.5, 0.25, 0.1))
REL = 1e-9  # both sides are float64 eigenvalue roots solved to 4 eps (observed agreement <= 2e-14)


def _haar(rng, d):
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    return Q * np.sign(np.diag(R))


def _aligned(rng, lam, blocks):
    d = lam.size
    idx = block_index(d, blocks)
    U = np.zeros((d, d))
    for b in range(blocks):
        cols = np.flatnonzero(idx == b)
        U[np.ix_(cols, cols)] = _haar(rng, cols.size)
    H = (U * lam) @ U.T
    return (H + H.T) / 2


def _rotated(rng, lam):
    Q = _haar(rng, lam.size)
    H = (Q * lam) @ Q.T
    return (H + H.T) / 2


def _spectra(H, blocks):
    return [np.linalg.eigvalsh(h) for h in diagonal_blocks(H, blocks)]


# ----------------------------------------------------------------------------- symbolic
def test_one_block_gain_is_the_gaussian_gain():
    g1 = bcd_gain(S.lam, eta=S.eta, beta=S.beta, blocks=1, c2=1)
    assert sp.simplify(g1 - gain(S.lam, eta=S.eta, kappa_g=1, kappa_s=1, beta=S.beta)) == 0


def test_isotropic_closed_form_is_d_plus_2b_and_reduces_to_gaussian():
    lam, d, beta = S.lam, S.d, S.beta
    assert sp.simplify(bcd_isotropic_eta_star() - 2 / (lam * (d + 2 * B))) == 0
    gdm = bcd_isotropic_eta_star(momentum=True)
    assert sp.simplify(gdm - 2 * (1 - beta**2) / (lam * ((1 + beta) * (d + 2 * B) - 2 * beta))) == 0
    unscaled = bcd_isotropic_eta_star(scaled=False, momentum=True)
    assert sp.simplify(unscaled - B * gdm) == 0
    # B = 1: Eq. 16 for k = d equal eigenvalues, 2/((d + 2) lambda)
    assert sp.simplify(bcd_isotropic_eta_star().subs(B, 1) - 2 / (lam * (d + 2))) == 0


def test_isotropic_closed_form_matches_dense_operator():
    lam0, d0, nb, beta = 0.7, 6, 3, 0.4
    law = parse_law(f"block(blocks={nb})")
    H = lam0 * np.eye(d0)
    sub = {S.lam: lam0, S.d: d0, B: nb, S.beta: beta}
    for method, momentum in (("gd", False), ("gdm", True)):
        expected = float(bcd_isotropic_eta_star(momentum=momentum).subs(sub))
        assert DenseOperator(law, H, method=method, beta=beta).eta_star() == pytest.approx(expected, rel=REL)


# ------------------------------------------------------------------- aligned vs dense
@pytest.mark.parametrize("spec", ["block(blocks=2)", "block(blocks=4)", "block(blocks=3, scaled=False)", "gaussian"])
@pytest.mark.parametrize("beta", [0.0, 0.6])
def test_aligned_closed_form_matches_dense_operator(spec, beta):
    law = parse_law(spec)
    nb, scaled = (law.blocks, law.scaled) if spec != "gaussian" else (1, True)
    H = _aligned(np.random.default_rng(1), SPEC, nb)
    method = "gd" if beta == 0 else "gdm"
    expected = DenseOperator(law, H, method=method, beta=beta).eta_star()
    assert bcd_aligned_eta_star(_spectra(H, nb), scaled=scaled, beta=beta) == pytest.approx(expected, rel=REL)


def test_aligned_gd_is_the_blockwise_gaussian_threshold_over_c2():
    H = np.diag(SPEC)
    for nb in (2, 3):
        blocks = _spectra(H, nb)
        assert bcd_aligned_eta_star(blocks, scaled=True) == pytest.approx(
            min(gaussian_eta_star(s) for s in blocks) / nb, rel=1e-12
        )


def test_near_miss_gain_without_the_momentum_block_term_is_rejected():
    # the mutant writes the GDM denominator as 2 (1 - beta^2) - 2 eta c^2 l (1 + beta), i.e. drops the
    # 1/B in beta (1 - 1/B): at beta = 0.25 eta* moves by a few percent only
    nb, beta = 4, 0.25
    H = _aligned(np.random.default_rng(2), SPEC, nb)
    exact = DenseOperator(parse_law(f"block(blocks={nb})"), H, method="gdm", beta=beta).eta_star()

    def mutant_root(s):
        def excess(eta):
            return np.sum(eta * nb * s * (1 + beta) / (2 * (1 - beta**2) - 2 * eta * nb * s * (1 + beta))) - 1

        pole = (1 - beta**2) / ((1 + beta) * nb * s.max())
        return optimize.brentq(excess, 1e-12 * pole, pole * (1 - 1e-12), rtol=1e-15)

    mutant = min(mutant_root(s) for s in _spectra(H, nb))
    assert 0.02 < abs(mutant / exact - 1) < 0.05  # a near miss ...
    assert bcd_aligned_eta_star(_spectra(H, nb), beta=beta) == pytest.approx(exact, rel=REL)  # ... the formula is not


# ------------------------------------------------------------------ general H vs dense
@pytest.mark.parametrize("spec", ["block(blocks=2)", "block(blocks=4)", "block(blocks=3, scaled=False)", "gaussian"])
def test_general_eigenproblem_matches_dense_operator(spec):
    law = parse_law(spec)
    nb, scaled = (law.blocks, law.scaled) if spec != "gaussian" else (1, True)
    H = _rotated(np.random.default_rng(3), SPEC)
    assert bcd_eta_star_general(H, blocks=nb, scaled=scaled) == pytest.approx(DenseOperator(law, H).eta_star(), rel=REL)


def test_per_block_maps_average_to_the_dense_momentum_operator():
    law = parse_law("block(blocks=3)")
    H = _rotated(np.random.default_rng(4), SPEC)
    expected = DenseOperator(law, H, method="gdm", beta=0.5).eta_star()
    assert bcd_eta_star_operator(H, blocks=3, method="gdm", beta=0.5) == pytest.approx(expected, rel=REL)


def test_gaussian_eigenproblem_reproduces_the_reference_threshold():
    ref = np.array((5.0, 3.0, 2.0, 1.5, 1.0, 0.8, 0.5, 0.3, 0.2, 0.1))
    H = _rotated(np.random.default_rng(5), ref)
    assert round(bcd_eta_star_general(H, blocks=1), 7) == 0.0950154  # derivations/stability.py, section 4


@pytest.mark.parametrize("seed", range(6))
def test_bounds_hold_and_are_attained_when_aligned(seed):
    rng = np.random.default_rng(100 + seed)
    lam = np.exp(rng.normal(0, 1.5, 6))
    nb = 2 + seed % 2
    H = _rotated(rng, lam)
    lo, hi = bcd_eta_star_bounds(H, blocks=nb)
    eta = bcd_eta_star_general(H, blocks=nb)
    assert lo * (1 - REL) <= eta <= hi * (1 + REL)
    Ha = _aligned(rng, lam, nb)
    lo_a, hi_a = bcd_eta_star_bounds(Ha, blocks=nb)
    assert lo_a == pytest.approx(hi_a, rel=1e-12) and bcd_eta_star_general(Ha, blocks=nb) == pytest.approx(
        lo_a, rel=REL
    )


def test_aligned_formula_on_a_rotated_h_is_a_strict_lower_bound_not_the_threshold():
    # a near-miss mutant: using the block-diagonal part of a rotated H as if it were aligned
    H = _rotated(np.random.default_rng(6), SPEC)
    assert not is_block_aligned(H, 3)
    mutant = bcd_aligned_eta_star(_spectra(H, 3))
    exact = DenseOperator(parse_law("block(blocks=3)"), H).eta_star()
    assert mutant < exact * (1 - 1e3 * REL)


# -------------------------------------------------------------------------- orders
def test_cyclic_orders_equal_uniform_for_aligned_gd():
    H = _aligned(np.random.default_rng(7), SPEC, 3)
    uni = bcd_eta_star_operator(H, blocks=3)
    for order in ("sweep", "reshuffled"):
        assert bcd_eta_star_operator(H, blocks=3, order=order) == pytest.approx(uni, rel=REL)


def test_cyclic_orders_differ_for_rotated_gd_and_for_aligned_gdm():
    rng = np.random.default_rng(8)
    H = _rotated(rng, SPEC)
    uni = bcd_eta_star_operator(H, blocks=3)
    assert bcd_eta_star_operator(H, blocks=3, order="reshuffled") > uni * (1 + 1e-4)
    Ha = _aligned(rng, SPEC, 4)
    uni_m = bcd_eta_star_operator(Ha, blocks=4, method="gdm", beta=0.5)
    assert abs(bcd_eta_star_operator(Ha, blocks=4, method="gdm", beta=0.5, order="reshuffled") / uni_m - 1) > 1e-4


def test_reshuffled_epoch_is_the_average_over_all_orders():
    import itertools

    H = _rotated(np.random.default_rng(9), SPEC[:4])
    kw = {"blocks": 3, "eta": 0.05, "method": "gdm", "beta": 0.3}
    from zoverify.symbolic.bcd_stability import block_step_operator

    idx = block_index(4, 3)
    T = [block_step_operator(H, np.flatnonzero(idx == b), eta=0.05, c2=3.0, method="gdm", beta=0.3) for b in range(3)]
    total = sum(T[p[2]] @ T[p[1]] @ T[p[0]] for p in itertools.permutations(range(3))) / 6
    np.testing.assert_allclose(epoch_operator(H, order="reshuffled", **kw), total, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"blocks": 0}, "blocks must be a positive integer"),
        ({"blocks": 9}, "must not exceed the dimension"),
        ({"blocks": 2, "order": "random"}, "order must be one of"),
        ({"blocks": 2, "method": "adam"}, "method must be one of"),
        ({"blocks": 2, "beta": 1.0, "method": "gdm"}, "beta must be in"),
    ],
)
def test_bad_input_names_what_is_accepted(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        bcd_eta_star_operator(np.diag(SPEC), **kwargs)


def test_singular_hessian_is_refused():
    with pytest.raises(InvalidParameterError, match="positive definite"):
        bcd_eta_star_general(np.diag([1.0, 0.0]), blocks=2)
