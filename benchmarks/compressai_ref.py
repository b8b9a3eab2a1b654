"""Import the real ``compressai`` package as a reference implementation (benchmarks and the
fixture maker of ``tests/fixtures/compressai``), in a throw-away virtual environment that shares
licodec's torch::

    python -m venv /tmp/cai
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/cai/lib/python3.11/site-packages/main.pth
    /tmp/cai/bin/pip install --no-deps compressai==1.2.8 && /tmp/cai/bin/pip install requests einops

``compressai/__init__`` imports its dataset and transform registries, which import torchvision,
torch_geometric and pandas at module level; none of them is used by the image models, so
:func:`import_compressai` puts empty stand-in modules in their place when they are missing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types


class _Stub:
    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):  # used as a decorator factory: return what it decorates
        return args[0] if args else None


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (_Stub,), {})


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, roots):
        self.roots = set(roots)

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.roots:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _StubModule(spec.name)

    def exec_module(self, module):
        module.__path__ = []


def import_compressai():
    """The ``compressai`` module, or ImportError when it is not installed."""
    if importlib.util.find_spec("compressai") is None:
        raise ImportError("compressai is not installed")
    missing = [m for m in ("torchvision", "torch_geometric", "pandas") if importlib.util.find_spec(m) is None]
    if missing:
        sys.meta_path.insert(0, _StubFinder(missing))
    import compressai

    return compressai
