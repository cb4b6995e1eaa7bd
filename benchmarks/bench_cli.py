"""CLI start-up: how long a user waits for answers that need no Monte Carlo.

Each command runs as a fresh process (interpreter start-up included), interleaved
with the baseline ``python -c "import numpy"`` so that load on the machine hits
both alike; the figures are medians and their ratios to the baseline.  Targets:
``--help`` within 4x of the baseline, the exact ``stability`` query within 12x.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

SPECTRUM = "5,3,2,1.5,1,0.8,0.5,0.3,0.2,0.1"
COMMANDS = {
    "help": ["--help"],
    "list": ["list"],
    "stability_json": ["stability", "--spectrum", SPECTRUM, "--format", "json"],
    "moments_laplace": ["moments", "--law", "laplace(b=0.6)"],
    "jl": ["jl", "--epsilon", "0.3", "--delta", "0.1", "--points", "30"],
}
BASELINE = [sys.executable, "-c", "import numpy"]
TARGETS = {"help": 4.0, "stability_json": 12.0}


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def run(profile: str, device: str) -> dict:
    repeats = 7 if profile == "quick" else 21
    zoverify = [sys.executable, "-m", "zoverify"]
    _wall(BASELINE)  # warm the file cache once for everyone
    for args in COMMANDS.values():
        _wall(zoverify + args)
    times = {name: [] for name in ["baseline_import_numpy", *COMMANDS]}
    for _ in range(repeats):
        times["baseline_import_numpy"].append(_wall(BASELINE))
        for name, args in COMMANDS.items():
            times[name].append(_wall(zoverify + args))
    medians = {name: statistics.median(v) for name, v in times.items()}
    base = medians["baseline_import_numpy"]
    ratios = {name: medians[name] / base for name in COMMANDS}
    return {
        "repeats": repeats,
        "median_s": medians,
        "ratio_to_import_numpy": ratios,
        "targets": TARGETS,
        "within_target": {name: ratios[name] <= limit for name, limit in TARGETS.items()},
    }
