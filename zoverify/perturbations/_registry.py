"""Law specs: the strings that name a law in the CLI, reports and claims.

Grammar: ``name`` | ``name(key=value, ...)`` with literal values (numbers, lists,
strings, booleans) | ``iid(Dist(args))`` for a sympy.stats distribution |
``path/to/file.py:ClassName`` | ``package.module:name``.  A loaded object may be
a law instance, a law class (instantiated without arguments) or a callable
returning a law.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import sympy.stats as st

from zoverify._errors import InvalidParameterError, UnknownNameError, ZoverifyError
from zoverify.perturbations._base import AbstractLaw
from zoverify.perturbations._params import LawParam

LAWS: dict[str, Callable[..., AbstractLaw]] = {}


def register_law(name_or_class: str | type[AbstractLaw], factory: Callable[..., AbstractLaw] | None = None):
    """Make a law available in law specs; returns the class, so it also works as a decorator.

    ``register_law(MyLaw)``: the name is ``MyLaw.name`` and ``MyLaw.law_params``
    must describe every constructor parameter (a bad declaration is refused with
    the reason); the catalogue then derives the law's test specs and strategies.
    ``register_law(name, factory)``: any callable returning a law, without metadata.
    """
    if isinstance(name_or_class, str):
        if factory is None or not callable(factory):
            raise InvalidParameterError(
                f"register_law({name_or_class!r}, factory): factory must be callable, got {factory!r}"
            )
        _check_name(name_or_class)
        LAWS[name_or_class] = factory
        return factory
    if factory is not None:
        raise InvalidParameterError("register_law(cls) takes the class alone (its name is cls.name)")
    cls = name_or_class
    if not (isinstance(cls, type) and issubclass(cls, AbstractLaw)):
        raise InvalidParameterError(
            f"register_law expects a subclass of zoverify.perturbations.AbstractLaw or (name, factory), got {cls!r}"
        )
    _check_name(cls.name)
    problems = metadata_problems(cls)
    if problems:
        raise InvalidParameterError(f"law class {cls.__name__} ({cls.name!r}): " + "; ".join(problems))
    LAWS[cls.name] = cls
    return cls


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or name in ("iid", "abstract"):
        raise InvalidParameterError(
            f"a law name must be a Python identifier other than 'iid' and 'abstract' (a law spec starts with it), "
            f"got {name!r}"
        )


def law_builder(cls: type[AbstractLaw]) -> Callable[..., AbstractLaw]:
    """What builds a law of ``cls`` from its spec parameters: its own ``from_params`` where it defines one, else ``cls``."""
    if "from_params" in vars(cls):
        return cls.from_params  # pyright: ignore[reportAttributeAccessIssue]  # defined by this class, checked above
    return cls


def metadata_problems(cls: type[AbstractLaw]) -> list[str]:
    """What is wrong with ``cls.law_params`` (empty when it describes the constructor exactly)."""
    params = getattr(cls, "law_params", None)
    if not isinstance(params, Mapping):
        return [f"law_params must be a mapping of parameter name to LawParam, got {params!r}"]
    out = []
    bad_type = [k for k, v in params.items() if not isinstance(v, LawParam)]
    if bad_type:
        out.append(f"law_params entries {bad_type} are not LawParam(domain=..., typical=..., test_values=...)")
    signature = inspect.signature(law_builder(cls))
    accepted = [n for n, p in signature.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    missing = [n for n in accepted if n not in params]
    extra = [n for n in params if n not in accepted]
    if missing:
        out.append(f"constructor parameters {missing} have no LawParam in law_params")
    if extra:
        out.append(f"law_params names {extra} that the constructor does not take (it takes {accepted or 'none'})")
    required = [n for n, p in signature.parameters.items() if p.default is p.empty and n in params]
    for name, meta in params.items():
        if not isinstance(meta, LawParam):
            continue
        out += [f"{name}: {why}" for why in meta.problems()]
        if name in required and not meta.test_values:
            out.append(f"{name}: a parameter without a default needs at least one test value")
    return out


def law_names() -> list[str]:
    """The registered family names, in registration order."""
    return list(LAWS)


def parse_law(spec: str | AbstractLaw) -> AbstractLaw:
    """Turn a law spec (or a law) into a law object, with a clear error if it is bad."""
    if isinstance(spec, AbstractLaw):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidParameterError(f"a law spec must be a non-empty string, got {spec!r}")
    spec = spec.strip()
    if ":" in spec and "(" not in spec.split(":", 1)[0]:
        return _load_user_law(spec)
    try:
        node = ast.parse(spec, mode="eval").body
    except SyntaxError:
        raise InvalidParameterError(f"cannot parse law spec {spec!r}; {_accepted()}") from None
    if isinstance(node, ast.Name):
        return _build(node.id, [], {}, spec)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "iid":
            return _build_sympy_law(node, spec)
        args = [_literal(a, spec) for a in node.args]
        kwargs = {k.arg: _literal(k.value, spec) for k in node.keywords}
        return _build(node.func.id, args, kwargs, spec)
    raise InvalidParameterError(f"cannot parse law spec {spec!r}; {_accepted()}")


def _accepted() -> str:
    return (
        "accepted: " + ", ".join(LAWS) + ", iid(Dist(...)) for a sympy.stats distribution, "
        "path/to/file.py:ClassName or package.module:name"
    )


def _literal(node: ast.AST, spec: str):
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise InvalidParameterError(
            f"law spec {spec!r}: parameter values must be literals (numbers, lists, strings)"
        ) from None


def _build(name: str, args: list, kwargs: dict, spec: str) -> AbstractLaw:
    if name not in LAWS:
        raise UnknownNameError(f"unknown law {name!r}; {_accepted()}")
    factory = LAWS[name]
    try:
        inspect.signature(factory).bind(*args, **kwargs)
    except TypeError as exc:
        params = ", ".join(inspect.signature(factory).parameters) or "none"
        raise InvalidParameterError(f"law spec {spec!r}: {exc}; parameters of {name}: {params}") from None
    return factory(*args, **kwargs)


def _build_sympy_law(node: ast.Call, spec: str) -> AbstractLaw:
    from zoverify.perturbations._sympy_law import SympyIIDLaw

    inner = node.args[0] if len(node.args) == 1 and not node.keywords else None
    if not (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name)):
        raise InvalidParameterError(f"law spec {spec!r}: write iid(Dist(args)), e.g. iid(Logistic(0, 1))")
    dist = getattr(st, inner.func.id, None)
    if dist is None or not callable(dist):
        raise UnknownNameError(f"law spec {spec!r}: sympy.stats has no distribution {inner.func.id!r}")
    if any(k.arg is None for k in inner.keywords):
        raise InvalidParameterError(f"law spec {spec!r}: write the distribution's parameters out, not **mapping")
    args = [_literal(a, spec) for a in inner.args]
    kwargs = {k.arg: _literal(k.value, spec) for k in inner.keywords if k.arg is not None}
    try:
        rv = dist("x", *args, **kwargs)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"law spec {spec!r}: sympy.stats.{inner.func.id} refused the parameters: {exc}"
        ) from None
    label = ast.unparse(inner)
    return SympyIIDLaw(rv, label=label)


def _load_user_law(spec: str) -> AbstractLaw:
    target, _, attr = spec.rpartition(":")
    try:
        if target.endswith(".py") or "/" in target:
            path = Path(target)
            if not path.is_file():
                raise InvalidParameterError(f"law spec {spec!r}: file {target} does not exist")
            module_name = f"zoverify_user_{abs(hash(path.resolve()))}"
            loader_spec = importlib.util.spec_from_file_location(module_name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise InvalidParameterError(f"law spec {spec!r}: {target} cannot be loaded as a Python module")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[module_name] = module
            loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except ZoverifyError:
        raise
    except Exception as exc:  # any failure of user code is reported as one line
        raise InvalidParameterError(f"law spec {spec!r}: cannot load {target}: {type(exc).__name__}: {exc}") from None
    if not hasattr(module, attr):
        raise InvalidParameterError(f"law spec {spec!r}: {target} has no attribute {attr!r}")
    obj = getattr(module, attr)
    if isinstance(obj, AbstractLaw):
        obj.source_spec = spec
        return obj
    if callable(obj):
        try:
            law = obj()
        except Exception as exc:
            raise InvalidParameterError(
                f"law spec {spec!r}: calling {attr}() failed: {type(exc).__name__}: {exc}"
            ) from None
        if isinstance(law, AbstractLaw):
            law.source_spec = spec  # reports name the file and class, which parse back
            return law
    raise InvalidParameterError(
        f"law spec {spec!r}: {attr} is not a zoverify law (subclass zoverify.perturbations.AbstractLaw)"
    )
