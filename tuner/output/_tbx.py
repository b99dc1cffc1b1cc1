"""tensorboardX's event-file writer and protobufs, without importing its package `__init__`.

`import tensorboardX` runs `tensorboardX/writer.py`, which imports torch when it is installed:
about a second and 200+ MB in the driver, for a process that never touches a tensor (and its
`record_writer` imports boto3 when that is installed; event files are framed in `_tb_events`).
Its CRC-32C, the protobuf modules and `summary.hparams` import nothing of the kind, so they are
loaded as submodules of a placeholder package that is removed again right after: a later
`import tensorboardX` by the user still runs the real `__init__` (which reuses these modules).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

_lock = threading.Lock()
_loaded: dict[str, Any] = {}

_MODULES = (
    "tensorboardX.crc32c",
    "tensorboardX.proto.event_pb2",
    "tensorboardX.proto.summary_pb2",
    "tensorboardX.summary",
)


def tbx() -> dict[str, Any]:
    """The tensorboardX modules the loggers use, by name (see `_MODULES`)."""
    with _lock:
        if _loaded:
            return _loaded
        placeholder = None
        if "tensorboardX" not in sys.modules:
            spec = importlib.util.find_spec("tensorboardX")
            if spec is None or not spec.submodule_search_locations:
                raise ImportError("tensorboardX is not installed (pip install tensorboardX)")
            placeholder = types.ModuleType("tensorboardX")
            placeholder.__path__ = list(spec.submodule_search_locations)
            sys.modules["tensorboardX"] = placeholder
        try:
            for name in _MODULES:
                _loaded[name] = importlib.import_module(name)
        finally:
            if placeholder is not None and sys.modules.get("tensorboardX") is placeholder:
                del sys.modules["tensorboardX"]
        return _loaded
