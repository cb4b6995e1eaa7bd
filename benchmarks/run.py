"""Run every benchmark (benchmarks/bench_*.py) and write one JSON file of results.

    python benchmarks/run.py                 # quick CPU profile
    python benchmarks/run.py --profile full  # full profile (for a GPU machine)
    python benchmarks/run.py --only symbolic # one benchmark

Each bench module exposes ``run(profile: str, device: str) -> dict`` returning
named measurements (medians over repeats) and ratios.  Results carry the device
name, torch version, sizes and time, and go to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f" ({torch.get_num_threads()} threads)"
    except OSError:
        pass
    return platform.processor() or "cpu"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["quick", "full"], default="quick")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--only", nargs="*", default=None, help="bench names (without bench_)")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    record = {
        "device": args.device,
        "device_name": device_name(args.device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "profile": args.profile,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "benchmarks": {},
    }
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if args.only and name not in args.only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        result = module.run(args.profile, args.device)
        result["wall_s"] = time.perf_counter() - start
        record["benchmarks"][name] = result
        print(json.dumps(result, indent=2), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = "gpu" if args.device.startswith("cuda") else "cpu"
    path = out / f"{tag}-{args.profile}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}.json"
    path.write_text(json.dumps(record, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
