"""Thread counts are chosen, not inherited: the check and the sweep set torch's and the BLAS's pools."""

from __future__ import annotations

import json

import pytest
import torch
from threadpoolctl import threadpool_info

from zoverify._errors import InvalidParameterError
from zoverify._threads import AUTO_THREADS, available_cores, resolve_threads, thread_limits
from zoverify.cli import main


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info()}


def test_limits_apply_inside_and_restore_after():
    before_torch, before_blas = torch.get_num_threads(), _blas_threads()
    with thread_limits(1):
        assert torch.get_num_threads() == 1
        assert _blas_threads() <= {1}
    assert torch.get_num_threads() == before_torch and _blas_threads() == before_blas


def test_auto_is_the_benchmarks_choice_or_the_environments(monkeypatch):
    monkeypatch.delenv("ZOVERIFY_THREADS", raising=False)
    assert resolve_threads("auto") == min(AUTO_THREADS, available_cores())
    monkeypatch.setenv("ZOVERIFY_THREADS", "1")
    assert resolve_threads(None) == 1


@pytest.mark.parametrize("bad", ["0", "-1", "two", str(10**6)])
def test_bad_counts_are_refused(bad):
    with pytest.raises(InvalidParameterError, match="threads"):
        resolve_threads(bad)


def test_check_runs_under_its_threads_and_records_them(capsys, monkeypatch):
    """The claim sees one torch thread although the process had more; the JSON records the count."""
    seen = []
    from zoverify.verify import runner

    real = runner.run_plan

    def spy(*args, **kwargs):
        seen.append((torch.get_num_threads(), _blas_threads()))
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "run_plan", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(available_cores())
    try:
        code = main(["check", "stability.gd_threshold", "--threads", "1", "--format", "json"])
    finally:
        torch.set_num_threads(before)
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["threads"] == 1
    assert seen == [(1, seen[0][1])] and seen[0][1] <= {1}


def test_check_refuses_a_bad_thread_count(capsys):
    assert main(["check", "stability.gd_threshold", "--threads", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "threads" in err


def test_limits_restore_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="inside"), thread_limits(1):
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before


def test_a_sweep_item_runs_single_threaded(monkeypatch):
    """A worker runs one item per core: inside the item torch and the BLAS are at one thread."""
    import zoverify.claims
    from zoverify.sweep.engine import run_item
    from zoverify.sweep.grid import Item

    seen = []
    real = zoverify.claims.check

    def spy(*args, **kwargs):
        seen.append((torch.get_num_threads(), _blas_threads()))
        return real(*args, **kwargs)

    monkeypatch.setattr(zoverify.claims, "check", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(available_cores())
    try:
        row = run_item(Item("stability.gd_threshold", "gaussian", (), seed=0, num_samples=1, alpha=1e-4))
    finally:
        torch.set_num_threads(before)
    assert row["verdict"] == "pass"
    assert seen[0][0] == 1 and seen[0][1] <= {1}
