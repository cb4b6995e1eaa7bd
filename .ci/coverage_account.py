"""Account for every library line a default ``zoverify check`` leaves unexecuted: which tests run it.

Reads two coverage.py data files, the check's and the suite's (recorded with one context per test),
and writes a Markdown account: per module, the statements, those the check never runs, and for each
run of such lines the test files that execute them; lines neither runs are listed apart, since each
must be brought under a claim or a test (or removed).  Run by ``python3 .ci/dev.py coverage --suite``;
needs the project's venv (coverage.py)::

    python .ci/coverage_account.py CHECK_DATA SUITE_DATA --out tests/coverage.md --json out.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
from collections import defaultdict
from pathlib import Path

import coverage
from coverage.data import CoverageData

ROOT = Path(__file__).resolve().parent.parent
#: test files named per run of lines, at most; the rest are counted
NAMED_TESTS = 3


def _statements(path: str) -> tuple[set[int], set[int]]:
    """The file's executable statements and its excluded lines, as coverage.py parses them."""
    cov = coverage.Coverage(data_file=None, config_file=str(ROOT / "pyproject.toml"))
    _, statements, excluded, _, _ = cov.analysis2(path)
    return set(statements), set(excluded)


def _test_file(context: str) -> str:
    """'tests/test_x.py::test_y[p]|run' -> 'test_x.py'; the empty context is what ran outside a test's
    own process: at import and collection, or in a subprocess a test started (the CLI tests)."""
    return context.split("::", 1)[0].rsplit("/", 1)[-1] if context else "(import or a test's subprocess)"


def _runs(lines: list[int], key) -> list[tuple[int, int, frozenset[str]]]:
    """Consecutive statements with the same covering set, as (first, last, set)."""
    out: list[tuple[int, int, frozenset[str]]] = []
    for line in lines:
        k = key(line)
        if out and out[-1][2] == k:
            out[-1] = (out[-1][0], line, k)
        else:
            out.append((line, line, k))
    return out


def account(check_data: Path, suite_data: Path) -> dict:
    """Per library module: statements, not run by the check, and which test files run each of those."""
    check, suite = CoverageData(str(check_data)), CoverageData(str(suite_data))
    check.read()
    suite.read()
    files = sorted({*check.measured_files(), *suite.measured_files()} | _library_files())
    modules = {}
    for path in files:
        statements, excluded = _statements(path)
        if not statements:
            continue
        run_by_check = set(check.lines(path) or ()) & statements
        by_line: dict[int, set[str]] = defaultdict(set)
        for line, contexts in suite.contexts_by_lineno(path).items():
            by_line[line].update(_test_file(c) for c in contexts)
        left = sorted(statements - run_by_check)
        runs = _runs(left, lambda ln, seen=by_line: frozenset(seen.get(ln, ())))
        rel = str(Path(path).resolve().relative_to(ROOT))
        modules[rel] = {
            "statements": len(statements),
            "run_by_check": len(run_by_check),
            "left_by_check": len(left),
            "run_by_tests_only": sum(1 for ln in left if by_line.get(ln)),
            "run_by_neither": [ln for ln in left if not by_line.get(ln)],
            "runs": [[a, b, sorted(k)] for a, b, k in runs],
        }
    return modules


def _library_files() -> set[str]:
    """Every module of the package, so a file that nothing imports is accounted for too."""
    return {str(p) for p in (ROOT / "zoverify").rglob("*.py")}


def _ranges(lines: list[int]) -> str:
    parts, start, prev = [], None, None
    for ln in lines:
        if start is not None and ln == prev + 1:
            prev = ln
            continue
        if start is not None:
            parts.append(f"{start}" if start == prev else f"{start}–{prev}")
        start = prev = ln
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}–{prev}")
    return ", ".join(parts)


def markdown(modules: dict, *, header: str) -> str:
    total = sum(m["statements"] for m in modules.values())
    by_check = sum(m["run_by_check"] for m in modules.values())
    tests_only = sum(m["run_by_tests_only"] for m in modules.values())
    neither = sum(len(m["run_by_neither"]) for m in modules.values())
    out = [
        "# What runs each library line: the default check, or which tests",
        "",
        header,
        "",
        f"{total:,} statements: **{by_check:,}** run by the default `zoverify check`, **{tests_only:,}** by tests "
        f"only, **{neither:,}** by neither.",
        "",
        "## Lines neither runs",
        "",
    ]
    rows = [(name, m["run_by_neither"]) for name, m in modules.items() if m["run_by_neither"]]
    out += ["| module | lines |", "|---|---|"] + [f"| `{n}` | {_ranges(ls)} |" for n, ls in rows] if rows else ["none"]
    out += [
        "",
        "## Per module",
        "",
        "| module | statements | run by check | left by check | of those, run by tests |",
        "|---|---|---|---|---|",
    ]
    for name, m in modules.items():
        out.append(
            f"| `{name}` | {m['statements']} | {m['run_by_check']} | {m['left_by_check']} | {m['run_by_tests_only']} |"
        )
    out += ["", "## Lines the check leaves, and the tests that run them", ""]
    for name, m in modules.items():
        runs = [r for r in m["runs"] if r[2]]
        if not runs:
            continue
        out += [f"### `{name}`", ""]
        for a, b, tests in runs:
            named = ", ".join(f"`{t}`" for t in tests[:NAMED_TESTS])
            more = f" and {len(tests) - NAMED_TESTS} more" if len(tests) > NAMED_TESTS else ""
            out.append(f"- {a if a == b else f'{a}–{b}'}: {named}{more}")
        out.append("")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("check_data", type=Path)
    ap.add_argument("suite_data", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="the Markdown account")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--command", default="python3 .ci/dev.py coverage --suite", help="recorded in the header")
    args = ap.parse_args()
    modules = account(args.check_data, args.suite_data)
    header = (
        f"Written by `{args.command}` on {datetime.date.today().isoformat()} ({platform.machine()}, "
        f"Python {platform.python_version()}, {coverage.__version__} coverage.py): the default `zoverify check` "
        "under coverage.py, then the default test suite with one coverage context per test."
    )
    args.out.write_text(markdown(modules, header=header))
    if args.json:
        args.json.write_text(json.dumps(modules, indent=1))
    neither = sum(len(m["run_by_neither"]) for m in modules.values())
    print(f"wrote {args.out}: {len(modules)} modules, {neither} lines run by neither the check nor a test")


if __name__ == "__main__":
    main()
