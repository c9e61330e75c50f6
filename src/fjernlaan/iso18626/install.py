"""The ISO 18626 area as the composition root wires it: its endpoints and fast path, the outbox channel
to peers, the handlers of inbound messages, the glue that tells peers of lending's actions, and the
dashboard's count of failed messages.

Extension point: ``iso18626.handler`` — ``(kind, prepare, handler)``
(:func:`fjernlaan.iso18626.service.register_prepared_handler`).
"""

from __future__ import annotations

from fjernlaan.area import Area, Hook
from fjernlaan.iso18626 import api, handlers, service, store
from fjernlaan.lending import peering, work
from fjernlaan.web.i18n import N_

AREA = Area(
    name="iso18626",
    routers=(api.router, api.peers_router),
    middleware=(api.FastIso18626,),
    senders={service.CHANNEL: service.send_to_peer},
    extension_points={"iso18626.handler": service.register_prepared_handler},
    hooks=(
        Hook("iso18626.handler", ("request", handlers.prepare_request, handlers.handle_request)),
        Hook(
            "iso18626.handler",
            (
                "requestingAgencyMessage",
                handlers.prepare_requesting_agency_message,
                handlers.handle_requesting_agency_message,
            ),
        ),
        Hook(
            "iso18626.handler",
            (
                "supplyingAgencyMessage",
                handlers.prepare_supplying_agency_message,
                handlers.handle_supplying_agency_message,
            ),
        ),
        Hook("lending.apply", (peering.after_apply,)),
        # The staff dashboard's "needs attention": messages to peers that failed for good.
        Hook(
            "lending.work_count",
            (work.FAILED_ISO18626, N_("Failed ISO 18626 messages"), service.failed_messages_query),
        ),
    ),
    tables=store,
)
