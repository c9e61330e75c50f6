"""The lending area as the composition root wires it: its API and pages, its timers, its tables, and
the extension points it offers other areas.

Extension points:

* ``lending.apply`` — ``(listener,)``: told of every applied action, in its transaction
  (:func:`fjernlaan.lending.service.on_apply`; the ISO 18626 area queues peers' messages there);
* ``lending.work_count`` — ``(key, label, query[, href])``: a count on the staff dashboard's "needs
  attention" (:func:`fjernlaan.lending.work.add_extra_count`).
"""

from __future__ import annotations

from typing import Final

from fjernlaan.area import Area, Timer
from fjernlaan.lending import (
    api,
    labels,
    overview,
    patron_views,
    service,
    store,
    timers,
    views,
    work,
    work_views,
)

#: Run in this order on every worker pass (the names sort in it): a lender's missed deadline moves the
#: request on before need-before ends it, and reminders follow the overdue marking of the same pass.
TIMERS: Final[dict[str, Timer]] = {
    "lending.1_no_answer": timers.no_answer,
    "lending.2_need_before": timers.need_before,
    "lending.3_overdue": timers.overdue,
    "lending.4_overdue_reminders": timers.overdue_reminders,
    "lending.5_pickup_window": timers.pickup_window,
    "lending.6_lender_digest": timers.lender_digest,
    "lending.7_due_soon": timers.due_soon,
}

AREA = Area(
    name="lending",
    routers=(
        api.router,
        views.router,
        work_views.router,
        patron_views.router,
        labels.router,
        overview.router,
    ),
    timers=TIMERS,
    extension_points={"lending.apply": service.on_apply, "lending.work_count": work.add_extra_count},
    tables=store,
)
