"""Measure the false-failure rate of every registered claim over many seeds.

    .venv/bin/python tests/calibrate_claims.py --seeds 40 --alpha 0.05 [--out FILE]

Each (claim, default law) pair is checked at its default sample size on seeds
1000..1000+S at a large alpha, where failures are frequent enough to count.
A check that is not rejected but whose negative controls are not all rejected
is counted as inconclusive (a lack of power, not a false failure).
The decision rules are Bonferroni-corrected inside a claim, so the expected rate
is at most alpha; the script reports failures per pair and overall, with the
one-sided binomial p-value of the total against rate alpha.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from scipy import stats

from zoverify.claims import REGISTRY, check


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    rows, total_fail, total_inconclusive, total = [], 0, 0, 0
    for claim in REGISTRY.values():
        if args.only and not any(claim.name.startswith(o) for o in args.only):
            continue
        for law in claim.laws:
            t = time.perf_counter()
            verdicts = [check(claim, law=law, seed=1000 + s, alpha=args.alpha).verdict for s in range(args.seeds)]
            fails = sum(v == "fail" for v in verdicts)
            inconclusive = sum(v == "inconclusive" for v in verdicts)
            decided = sum(v in ("pass", "fail", "inconclusive") for v in verdicts)
            rows.append(
                {
                    "claim": claim.name,
                    "law": law,
                    "failures": fails,
                    "inconclusive": inconclusive,
                    "decided": decided,
                    "seconds": time.perf_counter() - t,
                }
            )
            total_fail += fails
            total_inconclusive += inconclusive
            total += decided
            print(f"{claim.name:40s} {law:40s} {fails}/{decided} failed, {inconclusive} inconclusive", flush=True)
    p = stats.binom.sf(total_fail - 1, total, args.alpha) if total else 1.0
    summary = {
        "alpha": args.alpha,
        "seeds": args.seeds,
        "failures": total_fail,
        "decided": total,
        "inconclusive": total_inconclusive,
        "rate": total_fail / max(total, 1),
        "binomial_p_vs_alpha": p,
        "rows": rows,
    }
    print(
        f"total {total_fail}/{total} = {summary['rate']:.4f} at alpha {args.alpha} (one-sided p = {p:.3g}); "
        f"{total_inconclusive} inconclusive"
    )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(summary, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
