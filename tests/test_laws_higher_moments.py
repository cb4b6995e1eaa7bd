"""Moment maps of order five and six: laws they cannot be derived for are refused, and the subspace law's sixth moment.

The subspace law's E[(z^T z)^2 z z^T] is checked against E||z||^6 / d, from
z = sqrt(d/r) Q u with ||Q u|| = ||u||, u ~ N(0, I_r): E||u||^6 = r (r + 2)(r + 4).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

from zoverify._errors import MomentDoesNotExistError, NotApplicableError
from zoverify.perturbations import Gaussian, parse_law
from zoverify.perturbations._higher import coordinate_cumulants, cubic_moment, fifth_moment, sixth_moment
from zoverify.perturbations._iid import AbstractIIDLaw
from zoverify.perturbations._sphere import AbstractIsotropicLaw
from zoverify.perturbations._structured import LowRank, Subspace


@pytest.mark.parametrize(("rank", "dim"), [(2, 5), (1, 3), (3, 3)])
def test_subspace_sixth_moment_is_the_sixth_norm_moment_over_d(rank, dim):
    expected = (dim / rank) ** 3 * rank * (rank + 2) * (rank + 4) / dim
    got = sixth_moment(Subspace(rank=rank), dim, A=np.eye(dim))
    np.testing.assert_allclose(got, expected * np.eye(dim), rtol=1e-12)


@pytest.mark.parametrize("order", [0, 7])
def test_cumulants_are_derived_up_to_order_six(order):
    law = parse_law("gaussian")
    assert isinstance(law, AbstractIIDLaw)
    with pytest.raises(NotApplicableError, match=rf"cumulants are derived here up to order 6, not {order}"):
        coordinate_cumulants(law, 3, order)


def test_a_symbolic_variance_has_no_numeric_sixth_moment():
    s = sp.Symbol("s", positive=True)
    with pytest.raises(MomentDoesNotExistError, match=r"no finite central moment of order 2 .*gives s\*\*2"):
        sixth_moment(Gaussian(std=s), 2, A=np.eye(2))


class _FourthOnly(AbstractIsotropicLaw):
    """N(0, I) as a user might declare it: the fourth-moment factor only."""

    name = "fourth_only"

    def parameters(self):
        return {}

    def fourth_moment_factor(self, d):
        return sp.Integer(1)

    def sample(self, num_samples, dim, *, generator, dtype=None, device=None):
        raise NotImplementedError


def test_an_isotropic_law_without_its_sixth_factor_is_refused_by_name():
    law = _FourthOnly()
    with pytest.raises(MomentDoesNotExistError, match=r"fourth_only does not define its moment factor of order 6"):
        sixth_moment(law, 3, A=np.eye(3))
    c = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(cubic_moment(law, 3, c=c), 3 * c)  # E[z_a^4] = 3, E[z_i^3 z_a] = 0: N(0, I)


@pytest.mark.parametrize(
    ("name", "moment"),
    [
        ("E[(z^T A z)^2 z z^T]", lambda law: sixth_moment(law, 4, A=np.eye(4))),
        ("E[(z^T v)(z^T A z) z z^T]", lambda law: fifth_moment(law, 4, v=np.ones(4), A=np.eye(4))),
        ("E[(sum_i c_i z_i^3) z]", lambda law: cubic_moment(law, 4, c=np.ones(4))),
    ],
)
def test_higher_moments_of_a_law_neither_iid_nor_isotropic_are_refused(name, moment):
    with pytest.raises(
        NotApplicableError, match=rf"lowrank.*: {re.escape(name)} is derived for iid and isotropic laws only"
    ):
        moment(LowRank(rank=1, shape=(2, 2)))
