"""Load a user's callable from ``package.module:name`` or ``path/to/file.py:name``."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from zoverify._errors import ZoverifyError


class SubjectError(ZoverifyError):
    """A subject that cannot be audited: not found, wrong signature, wrong output, or it raised.

    ``prop`` names the contract item or property it broke (shown in the CLI's one line).
    """

    def __init__(self, message: str, *, prop: str = "contract"):
        super().__init__(f"{prop}: {message}")
        self.prop = prop


def load_callable(spec: str) -> Any:
    """The object named by ``module:name`` or ``file.py:name`` (a dotted name after the colon is followed)."""
    if not isinstance(spec, str) or ":" not in spec:
        raise SubjectError(
            f"a subject is given as 'package.module:callable' or 'path/to/file.py:callable', got {spec!r}",
            prop="load",
        )
    where, _, attr = spec.rpartition(":")
    if not where or not attr:
        raise SubjectError(f"subject spec {spec!r} needs both a module or file and a callable name", prop="load")
    module = _load_module(where, spec)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SubjectError(f"{where} has no attribute {attr!r}", prop="load") from None
    if not callable(obj):
        raise SubjectError(f"{spec} is a {type(obj).__name__}, not a callable", prop="load")
    return obj


def _load_module(where: str, spec: str):
    if where.endswith(".py"):
        path = Path(where).expanduser().resolve()
        if not path.is_file():
            raise SubjectError(f"no file {where} (from subject spec {spec!r})", prop="load")
        name = f"zoverify_subject_{abs(hash(str(path)))}"
        if name in sys.modules:
            return sys.modules[name]
        mod_spec = importlib.util.spec_from_file_location(name, path)
        assert mod_spec is not None and mod_spec.loader is not None, "a .py file always has the source loader"
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[name] = module
        try:
            mod_spec.loader.exec_module(module)
        except Exception as exc:  # the user's module failed on import: say so in one line
            del sys.modules[name]
            raise SubjectError(f"importing {where} raised {type(exc).__name__}: {exc}", prop="load") from None
        return module
    try:
        return importlib.import_module(where)
    except Exception as exc:
        raise SubjectError(f"importing {where} raised {type(exc).__name__}: {exc}", prop="load") from None


_REMEMBERED = "zoverify.subjects._remembered"


def remember(obj: Any) -> str:
    """A ``module:callable`` spec under which an in-process callable can be loaded (for the Python API)."""
    module = sys.modules.get(_REMEMBERED)
    if module is None:
        import types

        module = types.ModuleType(_REMEMBERED)
        sys.modules[_REMEMBERED] = module
    name = f"subject_{id(obj)}"
    setattr(module, name, obj)
    return f"{_REMEMBERED}:{name}"


__all__ = ["SubjectError", "load_callable", "remember"]
