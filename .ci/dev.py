"""Set up a local virtual environment if needed, then run the main job or the tests.

    python3 .ci/dev.py check [zoverify check options]   # every claim on the CPU, with a table
    python3 .ci/dev.py test  [pytest options]           # the default test suite
    python3 .ci/dev.py lint                             # ruff format and lint, pyright, the import-layer contracts
    python3 .ci/dev.py wheel                            # build the wheel, install it in a fresh venv, smoke check
    python3 .ci/dev.py coverage [--suite] [zoverify check options]
        # which library lines a default check never runs; with --suite, which tests run each of them
        # (the suite under coverage, one context per test; writes tests/coverage.md)

Uses only the Python standard library, so it works on a fresh machine.  torch is
pinned to 2.13.0 (a CPU build on the dev and CI machines); set ZOVERIFY_TORCH to
another requirement (e.g. "torch>=2.4") elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".zoverify-installed"


def ensure_env() -> None:
    torch_req = os.environ.get("ZOVERIFY_TORCH", "torch==2.13.0")
    want = f"{torch_req}\n{(ROOT / 'pyproject.toml').read_text()}"
    if STAMP.exists() and STAMP.read_text() == want:
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # torch first and pinned, so the project's loose range never pulls a CUDA build.
    subprocess.run([*pip, torch_req], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    # a third-party audit target (never a dependency of zoverify): only torch is needed, so not its declared deps
    subprocess.run([*pip, "--no-deps", "mezo==0.0.1"], check=False)
    STAMP.write_text(want)


#: claims the installed wheel must run: an exact one, a Monte Carlo one, one on scikit-learn's digits
SMOKE_CLAIMS = ["stability.gd_threshold", "moments.sampler", "entk.similarity"]


def lint() -> int:
    """ruff format --check, ruff check, basedpyright (basic mode, [tool.pyright]), then the import-layer contracts."""
    steps = [
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "ruff"), "check", "zoverify", "tests"],
        [str(BIN / "basedpyright"), "--project", "."],  # this pyproject.toml, not a config further up
        [str(BIN / "lint-imports")],
    ]
    for step in steps:
        print("$", Path(step[0]).name, *step[1:], flush=True)
        code = subprocess.call(step, cwd=ROOT)
        if code:
            return code
    return 0


def wheel_smoke() -> int:
    """Build the wheel, install it (not the checkout) in a fresh venv and run a smoke ``zoverify check``."""
    torch_req = os.environ.get("ZOVERIFY_TORCH", "torch==2.13.0")
    with tempfile.TemporaryDirectory(prefix="zoverify-wheel-") as tmp:
        dist, env = Path(tmp) / "dist", Path(tmp) / "venv"
        subprocess.run(
            [str(BIN / "python"), "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)], check=True
        )
        wheel = next(dist.glob("zoverify-*.whl"))
        venv.EnvBuilder(with_pip=True).create(env)
        py = env / ("Scripts" if os.name == "nt" else "bin") / "python"
        pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, torch_req], check=True)
        subprocess.run([*pip, str(wheel)], check=True)
        exe = shutil.which("zoverify", path=str(py.parent))
        print(f"installed {wheel.name} in a fresh venv; smoke check of {', '.join(SMOKE_CLAIMS)}", flush=True)
        # run outside the checkout, so the installed package (not the source tree) is imported
        return subprocess.call([exe, "check", *SMOKE_CLAIMS, "--law", "gaussian"], cwd=tmp)


def coverage(args: list[str]) -> int:
    """Run ``zoverify check`` under coverage.py; report the library's unexecuted lines per module.

    The data files and a JSON report go to .coverage-check/ (git-ignored).  With ``--suite`` the default
    test suite runs under coverage too, one context per test, and .ci/coverage_account.py writes
    tests/coverage.md: for every line the check leaves, the test files that run it, and the lines
    neither runs.
    """
    suite = "--suite" in args
    check_args = [a for a in args if a != "--suite"]
    out = ROOT / ".coverage-check"
    out.mkdir(exist_ok=True)
    check_data, suite_data = out / "check.data", out / "suite.data"
    env = dict(os.environ, COVERAGE_FILE=str(check_data))
    cov = [str(BIN / "python"), "-m", "coverage"]
    code = subprocess.call(
        [*cov, "run", "--source=zoverify", "-m", "zoverify", "check", *check_args], cwd=ROOT, env=env
    )
    subprocess.call([*cov, "json", "-q", "-o", str(out / "coverage.json")], cwd=ROOT, env=env)
    subprocess.call([*cov, "report", "--skip-covered", "--sort=miss", "--show-missing"], cwd=ROOT, env=env)
    print(f"zoverify check exited {code}; JSON report: {out / 'coverage.json'}")
    if code not in (0, 3):
        return code
    if not suite:
        return 0
    suite_code = test(
        ["--cov=zoverify", "--cov-context=test", "--cov-report="], env_extra={"COVERAGE_FILE": str(suite_data)}
    )
    if suite_code != 0:
        print(f"the suite exited {suite_code}; the account below covers the tests that ran")
    # a subprocess that outlived pytest-cov's own combine leaves a parallel data file: fold it in
    leftovers = [str(f) for f in out.glob("suite.data.*")]
    if leftovers:
        subprocess.call(
            [*cov, "combine", "--append", "-q", *leftovers], cwd=ROOT, env=dict(env, COVERAGE_FILE=str(suite_data))
        )
    return subprocess.call(
        [
            str(BIN / "python"),
            str(ROOT / ".ci" / "coverage_account.py"),
            str(check_data),
            str(suite_data),
            "--out",
            str(ROOT / "tests" / "coverage.md"),
            "--json",
            str(out / "account.json"),
        ],
        cwd=ROOT,
    )


def test(rest: list[str], *, env_extra: dict[str, str] | None = None) -> int:
    """The default suite: one pytest worker per core unless the options say otherwise."""
    env = dict(os.environ, PYTHONHASHSEED="0") | (env_extra or {})
    # one pytest worker per core (tests/conftest.py divides the cores' threads among them);
    # worksteal, since a few real-training claims take minutes and most tests a second
    parallel = (
        []
        if any(a == "-n" or a.startswith(("-n=", "--numprocesses")) or a == "no:xdist" for a in rest)
        else ["-n", "auto", "--dist", "worksteal"]
    )
    if parallel:  # numpy's BLAS would start a thread per core in every worker
        env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"} | env
    return subprocess.call([str(BIN / "python"), "-m", "pytest", "-q", *parallel, *rest], cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"check", "test", "env", "lint", "wheel", "coverage"}:
        print(__doc__)
        return 2
    ensure_env()
    cmd, rest = argv[0], argv[1:]
    if cmd == "env":
        return 0
    if cmd == "lint":
        return lint()
    if cmd == "wheel":
        return wheel_smoke()
    if cmd == "check":
        return subprocess.call([str(BIN / "zoverify"), "check", *rest], cwd=ROOT)
    if cmd == "coverage":
        return coverage(rest)
    return test(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
