"""Shared fixtures, markers and hypothesis profiles.

Markers: ``slow`` (skipped unless --run-slow or ZOVERIFY_SLOW=1) and ``gpu``
(skipped without CUDA).  Hypothesis profile from ZOVERIFY_HYPOTHESIS_PROFILE
(``ci`` by default: derandomized, no database, so CI is reproducible).
"""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=50)
settings.register_profile("nightly", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("ZOVERIFY_HYPOTHESIS_PROFILE", "ci"))

# the cores are shared among pytest-xdist's workers (PYTEST_XDIST_WORKER_COUNT), at most 2 threads each
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, (os.cpu_count() or 1) // _WORKERS)))


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    run_slow = config.getoption("--run-slow") or os.environ.get("ZOVERIFY_SLOW") == "1"
    has_gpu = torch.cuda.is_available()
    skip_slow = pytest.mark.skip(reason="slow: use --run-slow or ZOVERIFY_SLOW=1")
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(skip_gpu)


def _devices():
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    wanted = os.environ.get("ZOVERIFY_DEVICE")
    return [d for d in devices if wanted is None or d == wanted]


@pytest.fixture(params=_devices())
def device(request):
    """Each available device (cpu, and cuda when present)."""
    return torch.device(request.param)


@pytest.fixture
def one_intra_op_thread():
    """Tiny problems: a thread pool costs more than it saves (30x on a shared 2-core machine).  A module
    asks for it with ``pytestmark = pytest.mark.usefixtures("one_intra_op_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
