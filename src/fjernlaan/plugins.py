"""The area modules that plug into the worker and the web app by registering themselves on import.

An area that registers an outbox sender (:func:`fjernlaan.jobs.register_sender`), a timer or an ISO 18626
message handler lists its module here, so every process (web, worker, CLI) that runs the outbox or
answers peers has it loaded.
"""

from __future__ import annotations

import importlib
from typing import Final

PLUGIN_MODULES: Final = (
    "fjernlaan.iso18626.outbound",
    "fjernlaan.iso18626.handlers",
    "fjernlaan.iso18626.peering",
    "fjernlaan.timers",
)


def load_plugins() -> None:
    """Import every plugin module (cheap after the first call: Python caches modules)."""
    for name in PLUGIN_MODULES:
        importlib.import_module(name)
