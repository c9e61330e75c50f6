"""Every area of the hub, in the order the web app includes their routes, and their wiring.

An area joins the hub by being listed here (its `install.AREA`); nothing registers itself on import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from fjernlaan.accounts.install import AREA as ACCOUNTS
from fjernlaan.area import Area
from fjernlaan.articles.install import AREA as ARTICLES
from fjernlaan.catalogue.install import AREA as CATALOGUE
from fjernlaan.directory.install import AREA as DIRECTORY
from fjernlaan.iso18626.install import AREA as ISO18626
from fjernlaan.lending.install import AREA as LENDING
from fjernlaan.network.install import AREA as NETWORK
from fjernlaan.operations.install import AREA as OPERATIONS
from fjernlaan.privacy.install import AREA as PRIVACY
from fjernlaan.simulate.install import AREA as SIMULATE
from fjernlaan.stats.install import AREA as STATS

AREAS: Final[tuple[Area, ...]] = (
    DIRECTORY,
    ACCOUNTS,
    PRIVACY,
    LENDING,
    CATALOGUE,
    ISO18626,
    NETWORK,
    OPERATIONS,
    STATS,
    ARTICLES,
    SIMULATE,
)

_installed = False


def install_areas(areas: tuple[Area, ...] = AREAS) -> None:
    """Connect every area's hooks to the extension points the areas offer; once per process (the web
    app, the worker and the tests call it; a second call does nothing)."""
    global _installed
    if _installed:
        return
    points: dict[str, Callable[..., None]] = {}
    for area in areas:
        for name, point in area.extension_points.items():
            if name in points:
                raise RuntimeError(f"extension point {name!r} is offered twice (area {area.name})")
            points[name] = point
    for area in areas:
        for hook in area.hooks:
            if hook.point not in points:
                raise RuntimeError(f"area {area.name} hooks into {hook.point!r}, which no area offers")
            points[hook.point](*hook.args)
    _installed = True
