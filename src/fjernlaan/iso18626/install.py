"""The ISO 18626 area as the composition root wires it: its endpoints and fast path, the outbox channel
to peers, the handlers of inbound messages, the glue that tells peers of lending's actions, and the
dashboard's count of failed messages.

Extension point: ``iso18626.handler`` — ``(kind, prepare, handler)``
(:func:`fjernlaan.iso18626.inbound.register_prepared_handler`).
"""

from __future__ import annotations

from functools import partial

from fjernlaan.area import Area, Hook
from fjernlaan.iso18626 import api, handlers, inbound, outbound, peering, store
from fjernlaan.lending import work
from fjernlaan.web.i18n import N_

#: One handler per message kind: a peer's new request, and the two kinds of message about a request,
#: which take one table-driven path (:data:`handlers.PEER_MESSAGES`).
HANDLER_HOOKS = (
    Hook("iso18626.handler", ("request", handlers.prepare_request, handlers.handle_request)),
    *(
        Hook(
            "iso18626.handler",
            (
                kind.kind,
                partial(handlers.prepare_peer_message, kind),
                partial(handlers.handle_peer_message, kind),
            ),
        )
        for kind in handlers.PEER_MESSAGES
    ),
)

AREA = Area(
    name="iso18626",
    routers=(api.router, api.peers_router),
    middleware=(api.FastIso18626,),
    senders={outbound.CHANNEL: outbound.send_to_peer},
    extension_points={"iso18626.handler": inbound.register_prepared_handler},
    hooks=(
        *HANDLER_HOOKS,
        Hook("lending.apply", (peering.after_apply,)),
        # The staff dashboard's "needs attention": messages to peers that failed for good.
        Hook(
            "lending.work_count",
            (work.FAILED_ISO18626, N_("Failed ISO 18626 messages"), outbound.failed_messages_query),
        ),
    ),
    tables=store,
)
