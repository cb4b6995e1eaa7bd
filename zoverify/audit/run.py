"""Load, smoke-call, infer, judge and name: the steps of one audit."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from zoverify._errors import InvalidParameterError
from zoverify.audit.infer import LAW_CRITICAL, Inferred, infer_estimator
from zoverify.audit.report import AuditReport, Finding
from zoverify.claims import select
from zoverify.claims.audit.common import replicate_seeds, test_function
from zoverify.perturbations import parse_law
from zoverify.subjects import KINDS, EstimatorSubject, SubjectError, load_callable, remember
from zoverify.verify.check import check
from zoverify.verify.claim import Context
from zoverify.verify.result import ClaimResult
from zoverify.verify.verdict import ALPHA, Verdict

#: the properties judged for each kind of subject
PROPERTIES = {
    "estimator": (
        "audit.estimator_mean",
        "audit.estimator_second_moment",
        "audit.estimator_conditional_mean",
        "audit.estimator_reproducible",
        "audit.estimator_queries",
    ),
    "optimizer": ("audit.optimizer_replay", "audit.optimizer_mean_path", "audit.optimizer_stable_step"),
    "torch-update": (
        "audit.torch_update_direction",
        "audit.torch_update_restore",
        "audit.torch_update_mean",
        "audit.torch_update_stable_step",
    ),
}


def audit(
    subject: str | Callable,
    *,
    kind: str = "estimator",
    law: str | None = None,
    scheme: str | None = None,
    mu: float | None = None,
    queries: int | None = None,
    scale: float | None = None,
    method: str = "gd",
    beta: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    lr: float | None = None,
    dims: tuple[int, ...] = (6,),
    size: int | None = None,
    samples: int | None = None,
    seed: int = 0,
    alpha: float = ALPHA,
    progress: Callable[[str], Any] | None = None,
) -> AuditReport:
    """Audit ``subject`` (a spec string or the callable itself) of ``kind``; see the module docstring.

    Undeclared ``law``, ``scheme``, ``mu`` and ``queries`` are inferred (estimators); an
    undeclared ``scale`` is judged at 1, the unbiased estimator, and its inferred value reported.
    """
    if kind not in KINDS:
        raise InvalidParameterError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not dims or any(int(d) < 2 for d in dims):
        raise InvalidParameterError(f"dims must be integers >= 2, got {dims}")
    spec = subject if isinstance(subject, str) else remember(subject)
    name = subject if isinstance(subject, str) else getattr(subject, "__qualname__", repr(subject))
    load_callable(spec)  # a bad spec is refused before any work
    if law is not None:
        parse_law(law)
    start = time.perf_counter()
    declared = {
        k: v for k, v in dict(law=law, scheme=scheme, mu=mu, queries=queries, scale=scale).items() if v is not None
    }
    if kind == "optimizer":
        declared["method"] = method
        if method in ("gdm", "adam"):
            declared["beta"] = beta
        if method == "adam":
            declared |= {"beta2": beta2, "eps": eps}
    inferred = Inferred()
    if kind == "estimator":
        inferred = _infer(spec, dim=int(dims[0]), law=law, seed=seed)
    setting = {
        "law": law or inferred.law or "gaussian",
        "scheme": scheme or inferred.scheme or "central",
        "mu": mu if mu is not None else (inferred.mu or 1e-2),
        "queries": queries or inferred.queries or 1,
        "scale": 1.0 if scale is None else scale,
    }
    results: list[ClaimResult] = []
    # Bonferroni over the audit's checks, so a correct subject fails the audit as a whole with probability <= alpha
    checks = len(PROPERTIES[kind]) * (len(dims) if kind != "torch-update" else 1)
    alpha_each = alpha / checks
    for claim_name in PROPERTIES[kind]:
        entry = select([claim_name])[0]
        for dim in dims if kind != "torch-update" else (None,):
            params = _params(
                entry, spec, setting, method=method, beta=beta, beta2=beta2, eps=eps, lr=lr, dim=dim, size=size
            )
            if progress is not None:
                progress(f"{claim_name} [{setting['law']}{'' if dim is None else f', dim {dim}'}]")
            results.append(
                check(entry, law=setting["law"], params=params, seed=seed, num_samples=samples, alpha=alpha_each)
            )
    report = AuditReport(
        subject=name,
        kind=kind,
        declared=declared,
        inferred=_inferred_dict(inferred),
        behaves_like=inferred.describe() if kind == "estimator" else "",
        results=results,
        alpha=alpha,
        alpha_each=alpha_each,
    )
    report.findings = [f for r in results if (f := _finding(r, spec, setting, inferred, seed, samples)) is not None]
    report.findings[:0] = _setting_findings(declared, inferred, spec=spec, dim=int(dims[0]), seed=seed)
    report.elapsed_s = time.perf_counter() - start
    return report


def _params(entry, spec, setting, *, method, beta, beta2, eps, lr, dim, size) -> dict:
    values = {
        "subject": spec,
        "scheme": setting["scheme"],
        "mu": setting["mu"],
        "queries": setting["queries"],
        "scale": setting["scale"],
        "method": method,
        "beta": beta,
        "beta2": beta2,
        "eps": eps,
        "lr": lr,
        "dim": dim,
        "size": size,
    }
    return {k: v for k, v in values.items() if k in entry.params and v is not None}


def _infer(spec: str, *, dim: int, law: str | None, seed: int) -> Inferred:
    entry = select(["audit.estimator_mean"])[0]
    law_obj = parse_law(law or "gaussian")
    ctx = Context(law_obj, entry.resolve_params({"dim": dim}), 1, seed, torch.device("cpu"), torch.float64)
    f, x, _, v = test_function(ctx, dim, linear=False)
    subject = EstimatorSubject(load_callable(spec), name=spec)
    seeds = replicate_seeds(ctx, 256, stream=2)
    return infer_estimator(subject, f, x, v, dim=dim, calls=32, instances=256, seeds=seeds, law=law)


def _inferred_dict(inf: Inferred) -> dict:
    return {
        "law": inf.law,
        "scheme": inf.scheme,
        "queries": inf.queries,
        "mu": inf.mu,
        "scale": inf.scale,
        "scale_interval": list(inf.scale_interval) if inf.scale_interval else None,
        "top_eigen_share": inf.top_eigen_share,
        "notes": inf.notes,
    }


def _setting_findings(declared: dict, inf: Inferred, *, spec: str, dim: int, seed: int) -> list[Finding]:
    """Declared against inferred: the scheme, q and law a subject really uses, and its scale."""
    flags = [x for k, v in declared.items() if k in ("law", "scheme", "queries") for x in (f"--{k}", str(v))]
    again = shlex.join(["zoverify", "audit", spec, *flags, "--dims", str(dim), "--seed", str(seed)])
    out = []
    for key, label in (("scheme", "scheme"), ("queries", "number of queries")):
        got = getattr(inf, key)
        if key in declared and got is not None and got != declared[key]:
            what = (
                f"{got} difference declared {declared[key]}"
                if key == "scheme"
                else f"q = {got} declared q = {declared[key]}"
            )
            out.append(Finding(label, "fail", what, f"inferred from the subject's queries of f: {got}", again))
    declared_fit = inf.law_fit.get(parse_law(declared["law"]).spec) if "law" in declared else None
    # a finding only where the data reject the declared law, not where another law happens to fit a little better
    if declared_fit is not None and declared_fit > LAW_CRITICAL:
        out.append(
            Finding(
                "law",
                "fail",
                f"directions behave like {inf.law or 'no catalogue law'}, declared {declared['law']}",
                f"E z_1^4 and E||z||^4 of the queried directions; misfit (z-scores): {_fit_text(inf)};"
                f" declared {declared_fit:.1f} (rejected above {LAW_CRITICAL:.2f})",
                again,
            )
        )
    return out


def _fit_text(inf: Inferred) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in sorted(inf.law_fit.items(), key=lambda kv: kv[1])[:3])


def _scale_name(ratio_lo: float, ratio_hi: float, dim: int) -> str | None:
    named = [
        (2.0, "scale 2: the difference divided by mu where the central scheme needs 2 mu"),
        (0.5, "scale 1/2: the difference divided by 2 mu twice, or by 2 mu in a forward scheme"),
        (-1.0, "sign flip: the estimate points up the gradient"),
        (1.0 / dim, f"scale 1/d (d = {dim}): unit-sphere directions without their d factor"),
        (float(dim), f"scale d (d = {dim}): a d factor where the law needs none"),
    ]
    for value, text in named:
        if ratio_lo <= value <= ratio_hi:
            return text
    return None


def _finding(r: ClaimResult, spec: str, setting: dict, inf: Inferred, seed: int, samples: int | None) -> Finding | None:
    if r.verdict not in (Verdict.FAIL.value, Verdict.INCONCLUSIVE.value):
        return None
    dim = r.params.get("dim")
    args = [
        "zoverify", "check", r.claim, "--law", r.law, "--seed", str(seed),
        *(["--samples", str(samples)] if samples is not None else []),
        *[x for k, v in r.params.items() if k in ("subject", "scheme", "mu", "queries", "scale", "method", "beta", "beta2", "eps", "lr", "dim", "size") for x in ("--param", f"{k}={v}")],
    ]  # fmt: skip
    diagnosis = r.message or r.verdict
    if r.claim in ("audit.estimator_mean", "audit.estimator_second_moment") and inf.scale_interval and dim:
        lo, hi = (v / setting["scale"] for v in inf.scale_interval)
        named = _scale_name(min(lo, hi), max(lo, hi), int(dim))
        if named:
            diagnosis = named
        elif r.claim == "audit.estimator_mean":
            diagnosis = f"scale {inf.scale:.4g} (interval {inf.scale_interval[0]:.4g} to {inf.scale_interval[1]:.4g}) where {setting['scale']:g} is declared"
        if (
            r.claim == "audit.estimator_second_moment"
            and inf.top_eigen_share is not None
            and inf.top_eigen_share > 0.99
        ):
            diagnosis = f"rank-one second moment (top eigenvalue {100 * inf.top_eigen_share:.1f} % of the trace): every estimate lies along one direction"
    elif r.claim == "audit.estimator_queries":
        got = f"{inf.scheme} difference" if inf.scheme else "queries of no two-point pattern"
        diagnosis = f"{got} with q = {inf.queries} declared {setting['scheme']} with q = {setting['queries']}"
    elif r.claim == "audit.estimator_conditional_mean":
        diagnosis = "the mean conditional on one instance is not the unconditional one: reused directions (a pool, a seed reused between calls, a counter that never advances)"
    elif r.claim == "audit.estimator_reproducible":
        diagnosis = (
            "the same seed does not replay the same outputs"
            if r.estimate and r.estimate[0] > 0
            else "two seeds give the same outputs: instances that should be independent share one stream"
        )
    elif r.claim == "audit.torch_update_direction":
        bad = [lab for lab, e in zip(r.labels, r.estimate, strict=True) if e < 0.99]
        diagnosis = (
            "the update is not along the measured perturbation for "
            + "; ".join(bad)
            + " (its direction is regenerated differently)"
        )
    elif r.claim == "audit.torch_update_mean" and r.prediction and all(r.prediction):
        # every tensor's interval, as a ratio to its prediction, holding one named scale
        pred = np.asarray(r.prediction)
        lo, hi = (
            np.minimum(*(np.asarray(v) / pred for v in (r.ci_low, r.ci_high))),
            np.maximum(*(np.asarray(v) / pred for v in (r.ci_low, r.ci_high))),
        )
        named = {2.0: "update twice too long: the difference divided by mu where the central scheme needs 2 mu",
                 0.5: "update half as long as declared", -1.0: "sign flip: the update climbs the loss"}  # fmt: skip
        diagnosis = next((text for k, text in named.items() if np.all((lo <= k) & (k <= hi))), diagnosis)
    elif r.claim == "audit.torch_update_restore":
        bad = [lab.rsplit(", ", 1)[-1] for lab, e in zip(r.labels, r.estimate, strict=True) if e > 0]
        diagnosis = "parameters not restored bitwise in " + ", ".join(bad)
    elif r.claim == "audit.optimizer_mean_path":
        # a near miss that the data do not reject is what the subject looks like
        named = {
            "m = beta m + (1 - beta) g": "momentum written m = beta m + (1 - beta) g, where heavy ball has no (1 - beta)",
            "lr x1.1": "steps 10 % longer than lr x E g",
            "lr x0.9": "steps 10 % shorter than lr x E g",
        }
        matches = [named[c] for c in r.controls_not_rejected if c in named]
        if matches:
            diagnosis = matches[0]
    elif r.claim == "audit.optimizer_replay":
        diagnosis = _replay_diagnosis(r) or diagnosis
    elif r.claim in ("audit.optimizer_stable_step", "audit.torch_update_stable_step") and r.prediction and r.estimate:
        ratio = r.estimate[0] / r.prediction[0]
        diagnosis = (
            f"stable step {ratio:.3g} x the declared eta*: the subject steps about {1 / ratio:.3g} x lr x the "
            "declared estimate (lr or scale off)"
            if ratio > 0
            else "no step size is mean-square stable: some directions are never contracted (the update moves "
            "along too few directions, e.g. a broadcast that collapses z)"
        )
    if r.verdict == Verdict.INCONCLUSIVE.value:
        diagnosis = f"inconclusive: {r.message}"
    statistic = _statistic(r)
    return Finding(r.claim, r.verdict, diagnosis, statistic, shlex.join(args))


def _replay_diagnosis(r: ClaimResult) -> str | None:
    """The near miss whose replay the subject's iterates match (the controls not rejected), or the queries."""
    if r.estimate and r.estimate[-1] > 0:
        return (
            f"{int(r.estimate[-1])} steps queried f off the declared {r.params['scheme']} pattern with "
            f"q = {r.params['queries']}: the declared estimate cannot be formed from them"
        )
    named = {
        "m = beta m + (1 - beta) g": "momentum written m = beta m + (1 - beta) g, where heavy ball has no (1 - beta)",
        "Adam without bias correction": "Adam without bias correction: m and v are not divided by 1 - beta^t",
        "lr x1.01": "lr off by +1 %: every step is 1.01 lr x the declared update",
        "lr x0.99": "lr off by -1 %: every step is 0.99 lr x the declared update",
    }
    matches = [named[c] for c in r.controls_not_rejected if c in named]
    if matches:
        return matches[0]
    if r.verdict == Verdict.FAIL.value:
        return f"x_t is not the declared {r.params['method']} recursion of the subject's own estimates ({r.message})"
    return None


def _where(r: ClaimResult) -> str:
    return "".join(f"{k} {r.params[k]}, " for k in ("dim", "size") if k in r.params)


def _statistic(r: ClaimResult) -> str:
    if not r.prediction:
        return r.message
    pred, est = np.asarray(r.prediction), np.asarray(r.estimate)
    width = np.abs(np.asarray(r.ci_high) - np.asarray(r.ci_low))
    i = int(np.argmax(np.where(width > 0, np.abs(est - pred) / np.maximum(width, 1e-300), np.abs(est - pred))))
    return f"{r.labels[i]}: expected {pred[i]:.6g}, measured {est[i]:.6g} (interval {r.ci_low[i]:.6g} to {r.ci_high[i]:.6g}), {_where(r)}seed {r.seed}"


__all__ = ["PROPERTIES", "audit", "SubjectError"]
