"""Import LanceDB without the REST client of its remote catalogue, which shashin never uses.

`import lancedb` imports lance_namespace, whose generated OpenAPI client eagerly imports ~20 API
modules whose ~370 methods are each wrapped by pydantic's validate_call at import: 1.2 s of the
1.8 s a CLI search spent importing lancedb (measured, bench/bench_cold.py). Its package is
registered here without running its `__init__`; its submodules (the models lance_namespace
needs) import as usual, and the first attribute asked of the package itself runs the real
`__init__` then, so a caller that does use the REST client gets all of it.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import types
from typing import Any

_CLIENT = "lance_namespace_urllib3_client"
_lock = threading.RLock()


def defer_rest_client() -> None:
    """Register the REST client package so that its `__init__` runs only when it is used."""
    with _lock:
        if _CLIENT in sys.modules:
            return
        spec = importlib.util.find_spec(_CLIENT)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return  # not installed, or not a package: lancedb's own import says what is wrong
        module = importlib.util.module_from_spec(spec)
        loader = spec.loader
        loaded = False

        def __getattr__(name: str) -> Any:  # the module's own (PEP 562)
            nonlocal loaded
            with _lock:
                if not loaded:
                    loaded = True
                    loader.exec_module(module)  # the real __init__, into this same module
            if name in module.__dict__:
                return module.__dict__[name]
            raise AttributeError(f"module {_CLIENT!r} has no attribute {name!r}")

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        sys.modules[_CLIENT] = module


def lancedb() -> types.ModuleType:
    """The lancedb module, imported with the REST client deferred."""
    defer_rest_client()
    import lancedb as module

    return module


defer_rest_client()

__all__ = ["defer_rest_client", "lancedb"]
