"""Mutation testing: apply each catalogued mutant in a fresh copy of the repository and
see whether ``zoverify check`` (and, with ``--suite``, the listed tests) catches it.

    python mutation/run.py [--only ID ...] [--suite] [--jobs 1] [--out FILE] [--no-control]

For each mutant: copy the working tree (``git ls-files``: tracked and untracked
files that git does not ignore; never ``.venv``) into a temporary folder, replace
the mutant's search string (it must occur exactly once, else the mutant is
refused), and run ``python -m zoverify check ARGS`` from that copy with
``PYTHONPATH=<copy>``.  Before any command runs, the copy's ``zoverify`` is
located with the same interpreter and environment and must resolve inside the
copy (not the editable install), else the run stops.

Outcomes of one check command: ``survived`` (exit 0), ``fail`` (exit 1),
``inconclusive`` (exit 3), ``error`` (exit 2: a one-line zoverify error),
``crash`` (a Python traceback on stderr), ``rc=N`` (any other non-zero exit) or
``timeout``.  Every non-zero exit counts as caught; a timeout does not.

Controls (on by default): each distinct check command (and, with ``--suite``,
each distinct test list) also runs once on an unmutated copy.  A mutant whose
control does not pass is reported as ``control-failed`` and left out of the
score, since a non-zero exit then says nothing about the mutant.

The runner exits 1 when a mutant was refused (its search string drifted), else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = Path(__file__).resolve().with_name("catalogue.toml")
REQUIRED = ("id", "area", "file", "description", "search", "replace", "checks", "tests")
AREAS = ("laws", "symbolic", "numeric", "statistics", "cli", "audit")
CAUGHT_BY_CHECK = {"fail", "inconclusive", "error", "crash"}


class CatalogueError(ValueError):
    """The catalogue is malformed."""


@dataclass(frozen=True)
class Mutant:
    id: str
    area: str
    file: str
    description: str
    search: str
    replace: str
    checks: tuple[str, ...]
    tests: tuple[str, ...]
    note: str = ""

    def check_argv(self) -> list[list[str]]:
        return [shlex.split(c) for c in self.checks]


@dataclass
class CommandResult:
    kind: str  # "check" or "suite"
    argv: list[str]
    rc: int | None
    outcome: str
    seconds: float
    tail: str = ""


@dataclass
class MutantResult:
    id: str
    area: str
    file: str
    description: str
    status: str = "applied"  # "applied", "refused", "control-failed"
    reason: str = ""
    check: str = "not run"  # outcome of the first catching check command, else "survived"
    suite: str = "not run"
    commands: list[CommandResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def caught_by_check(self) -> bool:
        return self.check in CAUGHT_BY_CHECK or self.check.startswith("rc=")

    @property
    def caught_with_suite(self) -> bool:
        return self.caught_by_check or self.suite == "caught"


# ----------------------------------------------------------------------------- catalogue
def load_catalogue(path: Path = CATALOGUE) -> list[Mutant]:
    """Parse and validate the catalogue's structure (not the search strings: see :func:`drift`)."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    entries = data.get("mutant")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{path}: expected [[mutant]] tables")
    out, seen = [], set()
    for i, entry in enumerate(entries):
        where = f"{path.name}: mutant #{i + 1} ({entry.get('id', '?')})"
        missing = [k for k in REQUIRED if k not in entry]
        if missing:
            raise CatalogueError(f"{where}: missing {', '.join(missing)}; required: {', '.join(REQUIRED)}")
        unknown = set(entry) - set(REQUIRED) - {"note"}
        if unknown:
            raise CatalogueError(f"{where}: unknown keys {sorted(unknown)}; accepted: {', '.join(REQUIRED)}, note")
        if entry["id"] in seen:
            raise CatalogueError(f"{where}: duplicate id")
        seen.add(entry["id"])
        if entry["area"] not in AREAS:
            raise CatalogueError(f"{where}: area {entry['area']!r} is not one of {', '.join(AREAS)}")
        if not entry["search"] or entry["search"] == entry["replace"]:
            raise CatalogueError(f"{where}: the search string must be non-empty and differ from the replacement")
        for key in ("checks", "tests"):
            if not isinstance(entry[key], list) or not all(isinstance(s, str) and s.strip() for s in entry[key]):
                raise CatalogueError(f"{where}: {key} must be a list of non-empty strings")
        if not entry["checks"]:
            raise CatalogueError(f"{where}: at least one check command is required")
        out.append(
            Mutant(
                id=entry["id"],
                area=entry["area"],
                file=entry["file"],
                description=entry["description"],
                search=entry["search"],
                replace=entry["replace"],
                checks=tuple(entry["checks"]),
                tests=tuple(entry["tests"]),
                note=entry.get("note", ""),
            )
        )
    return out


def drift(mutant: Mutant, root: Path = ROOT) -> str | None:
    """Why ``mutant`` cannot be applied to the tree at ``root`` (None if it can)."""
    path = root / mutant.file
    if not path.is_file():
        return f"{mutant.file} does not exist"
    count = path.read_text(encoding="utf-8").count(mutant.search)
    if count != 1:
        return (
            f"search string occurs {count} times in {mutant.file} (exactly once is required; "
            "the code changed: update the mutant)"
        )
    for test in mutant.tests:
        if not (root / test).is_file():
            return f"test file {test} does not exist"
    return None


def apply(mutant: Mutant, root: Path) -> None:
    """Patch the copy at ``root`` in place (after :func:`drift` returned None)."""
    path = root / mutant.file
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(mutant.search, mutant.replace, 1), encoding="utf-8")


# ----------------------------------------------------------------------------- copies and commands
def tree_files(root: Path = ROOT) -> list[str]:
    """Tracked and untracked-but-not-ignored files that exist (the working tree as git sees it)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout.decode()
    files = sorted({f for f in out.split("\0") if f})
    return [f for f in files if not f.startswith(".venv/") and (root / f).is_file()]


def make_copy(dest: Path, root: Path = ROOT) -> None:
    for rel in tree_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)


def copy_env(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONHOME", None)
    return env


def verify_import(copy: Path, python: str) -> None:
    """The copy's zoverify must be the one imported (PYTHONPATH before the editable install)."""
    probe = "import importlib.util as u; print(u.find_spec('zoverify').origin)"
    res = subprocess.run([python, "-c", probe], cwd=copy, env=copy_env(copy), capture_output=True, text=True)
    origin = Path(res.stdout.strip() or "/nonexistent").resolve()
    if res.returncode != 0 or copy.resolve() not in origin.parents:
        raise RuntimeError(
            f"the copy at {copy} imports zoverify from {origin}, not from the copy "
            f"(stderr: {res.stderr.strip()[-300:]})"
        )


def classify_check(rc: int | None, stderr: str) -> str:
    if rc is None:
        return "timeout"
    if "Traceback (most recent call last)" in stderr:
        return "crash"
    return {0: "survived", 1: "fail", 2: "error", 3: "inconclusive"}.get(rc, f"rc={rc}")


def run_command(kind: str, argv: list[str], copy: Path, timeout: float) -> CommandResult:
    start = time.perf_counter()
    try:
        res = subprocess.run(argv, cwd=copy, env=copy_env(copy), capture_output=True, text=True, timeout=timeout)
        rc, out, err = res.returncode, res.stdout, res.stderr
    except subprocess.TimeoutExpired as exc:
        rc = None
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    seconds = time.perf_counter() - start
    if kind == "check":
        outcome = classify_check(rc, err)
    else:
        outcome = "timeout" if rc is None else ("passed" if rc == 0 else "caught")
    tail = (out[-1500:] + ("\n--- stderr ---\n" + err[-1500:] if err.strip() else "")).strip()
    return CommandResult(kind, argv, rc, outcome, seconds, tail)


def check_argv(python: str, args: list[str]) -> list[str]:
    return [python, "-m", "zoverify", "check", *args]


def suite_argv(python: str, tests: tuple[str, ...]) -> list[str]:
    return [python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]


# ----------------------------------------------------------------------------- the run
def run_controls(mutants, python, *, suite, timeout, log) -> dict[tuple, CommandResult]:
    """Each distinct command once on an unmutated copy."""
    keys: list[tuple] = []
    for m in mutants:
        keys += [("check", tuple(a)) for a in m.check_argv()]
        if suite and m.tests:
            keys.append(("suite", m.tests))
    keys = list(dict.fromkeys(keys))
    results: dict[tuple, CommandResult] = {}
    if not keys:
        return results
    with tempfile.TemporaryDirectory(prefix="zoverify-control-") as tmp:
        copy = Path(tmp)
        make_copy(copy)
        verify_import(copy, python)
        for key in keys:
            argv = check_argv(python, list(key[1])) if key[0] == "check" else suite_argv(python, key[1])
            res = run_command(key[0], argv, copy, timeout)
            results[key] = res
            ok = res.outcome in ("survived", "passed")
            log(f"control {key[0]:5s} {' '.join(key[1])}: {'ok' if ok else res.outcome} ({res.seconds:.0f} s)")
    return results


def run_mutant(m: Mutant, python, *, suite, timeout, controls, stop_early, log) -> MutantResult:
    result = MutantResult(m.id, m.area, m.file, m.description)
    start = time.perf_counter()
    reason = drift(m)
    if reason is not None:
        result.status, result.reason, result.check = "refused", reason, "refused"
        log(f"{m.id}: REFUSED: {reason}")
        return result
    failed_controls = [
        " ".join(k[1])
        for k in controls
        if controls[k].outcome not in ("survived", "passed")
        and (k in [("check", tuple(a)) for a in m.check_argv()] or k == ("suite", m.tests))
    ]
    with tempfile.TemporaryDirectory(prefix=f"zoverify-mutant-{m.id}-") as tmp:
        copy = Path(tmp)
        make_copy(copy)
        apply(m, copy)
        verify_import(copy, python)
        result.check = "survived"
        for args in m.check_argv():
            res = run_command("check", check_argv(python, args), copy, timeout)
            result.commands.append(res)
            if res.outcome != "survived":
                result.check = res.outcome
                if stop_early and res.outcome != "timeout":
                    break
        if suite and m.tests:
            res = run_command("suite", suite_argv(python, m.tests), copy, timeout)
            result.commands.append(res)
            result.suite = res.outcome
        elif suite:
            result.suite = "no tests listed"
    if failed_controls:
        result.status = "control-failed"
        result.reason = "the unmutated tree does not pass: " + "; ".join(failed_controls)
    result.seconds = time.perf_counter() - start
    log(
        f"{m.id}: check {result.check}"
        + (f", suite {result.suite}" if suite else "")
        + (f"  [{result.status}]" if result.status != "applied" else "")
        + f" ({result.seconds:.0f} s)"
    )
    return result


def summarize(results: list[MutantResult], *, suite: bool) -> dict:
    scored = [r for r in results if r.status == "applied"]
    n = len(scored)
    by_check = sum(r.caught_by_check for r in scored)
    with_suite = sum(r.caught_with_suite for r in scored) if suite else None
    return {
        "total": len(results),
        "scored": n,
        "refused": [r.id for r in results if r.status == "refused"],
        "control_failed": [r.id for r in results if r.status == "control-failed"],
        "caught_by_check": by_check,
        "caught_with_suite": with_suite,
        "survivors_of_check": [r.id for r in scored if not r.caught_by_check],
    }


def render(results: list[MutantResult], summary: dict, *, suite: bool) -> str:
    width = max([len(r.id) for r in results] + [2])
    lines = [f"{'id':{width}s}  {'area':10s}  {'check':13s}" + ("  suite" if suite else "") + "  note"]
    for r in results:
        note = r.reason if r.status != "applied" else ""
        lines.append(
            f"{r.id:{width}s}  {r.area:10s}  {r.check:13s}"
            + (f"  {r.suite:7s}" if suite else "")
            + (f"  {note}" if note else "")
        )
    n = summary["scored"]
    pct = (lambda k: f"{100 * k / n:.0f} %") if n else (lambda k: "n/a")
    lines.append("")
    lines.append(f"caught by check alone: {summary['caught_by_check']} / {n} ({pct(summary['caught_by_check'])})")
    if suite:
        lines.append(
            f"caught with the suite: {summary['caught_with_suite']} / {n} ({pct(summary['caught_with_suite'])})"
        )
    if summary["refused"]:
        lines.append(f"refused (search string drifted; not scored): {', '.join(summary['refused'])}")
    if summary["control_failed"]:
        lines.append(f"control failed (not scored): {', '.join(summary['control_failed'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="+", metavar="ID", help="run only these mutant ids")
    p.add_argument("--suite", action="store_true", help="also run each mutant's test files (pytest -q -x)")
    p.add_argument("--jobs", type=int, default=1, help="mutants run one at a time; only 1 is accepted")
    p.add_argument("--out", default=None, metavar="FILE", help="write the results as JSON here")
    p.add_argument("--no-control", action="store_true", help="skip the runs on the unmutated tree")
    p.add_argument(
        "--all-checks", action="store_true", help="run every check command of a mutant even after one has caught it"
    )
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per command (default 1800)")
    p.add_argument("--python", default=sys.executable, help="interpreter with zoverify's dependencies")
    p.add_argument("--catalogue", default=str(CATALOGUE), help="catalogue file (TOML)")
    args = p.parse_args(argv)
    if args.jobs != 1:
        p.error(f"--jobs {args.jobs}: mutants run sequentially; only --jobs 1 is accepted")
    mutants = load_catalogue(Path(args.catalogue))
    if args.only:
        known = {m.id for m in mutants}
        unknown = [i for i in args.only if i not in known]
        if unknown:
            p.error(f"unknown mutant id(s) {', '.join(unknown)}; see {args.catalogue}")
        mutants = [m for m in mutants if m.id in set(args.only)]

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    runnable = [m for m in mutants if drift(m) is None]
    controls = (
        {} if args.no_control else run_controls(runnable, args.python, suite=args.suite, timeout=args.timeout, log=log)
    )
    results = [
        run_mutant(
            m,
            args.python,
            suite=args.suite,
            timeout=args.timeout,
            controls=controls,
            stop_early=not args.all_checks,
            log=log,
        )
        for m in mutants
    ]
    summary = summarize(results, suite=args.suite)
    print(render(results, summary, suite=args.suite))
    if args.out:
        payload = {
            "summary": summary,
            "suite": args.suite,
            "controls": [
                {
                    "kind": k[0],
                    "args": list(k[1]),
                    "outcome": v.outcome,
                    "rc": v.rc,
                    "seconds": round(v.seconds, 1),
                    "tail": v.tail,
                }
                for k, v in controls.items()
            ],
            "mutants": [
                {
                    **{k: v for k, v in r.__dict__.items() if k != "commands"},
                    "caught_by_check": r.caught_by_check,
                    "caught_with_suite": r.caught_with_suite if args.suite else None,
                    "seconds": round(r.seconds, 1),
                    "commands": [{**c.__dict__, "seconds": round(c.seconds, 1)} for c in r.commands],
                }
                for r in results
            ],
        }
        Path(args.out).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 1 if summary["refused"] else 0


if __name__ == "__main__":
    sys.exit(main())
