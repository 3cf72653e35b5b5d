"""Package faces that load on first use.

Every ``vodstack`` package names what other packages may use in its ``__init__``: the
``__all__`` list, the same names imported under ``TYPE_CHECKING`` (so type checkers and readers
see where each one lives) and a :func:`lazy_face` table that imports a name's module the first
time someone asks for it (PEP 562 module ``__getattr__``). So ``from vodstack.edge import Edge``
loads the edge's service module and no other, importing a package costs nothing, and the
command line starts as fast as it did before packages had faces. ``tests/unit/
test_architecture.py`` checks that the three lists agree.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_face"]


def lazy_face(
    package: str, modules: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``'s face.

    ``modules`` maps a submodule (relative to ``package``) to the names it gives the face,
    e.g. ``{"cache": ["EdgeCache", "Loader"]}``. A name is imported once and then kept in the
    package's namespace like any imported name.
    """
    home = {name: f"{package}.{module}" for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:  # PEP 562 hook
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:  # PEP 562 hook
        return sorted(set(vars(sys.modules[package])) | set(home))

    return __getattr__, __dir__
