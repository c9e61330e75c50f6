"""The staff's pages of daily work: the dashboard of queues, each queue's table with its scan box and
bulk actions, and pull slips.

URLs others link to: `/staff` (dashboard), `/staff/queues/<key>` (a queue; keys in
`lending.queues.QUEUES`), `/staff/requests/<id>` (the request page, built in the request views),
`/staff/slips?id=<id>&id=…` (pull slips again, without marking).

(The request page and its forms are the request views' module; this one is the queues'.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fjernlaan.accounts.model import Principal
from fjernlaan.errors import NotFound, PermissionDenied
from fjernlaan.lending import model as lm
from fjernlaan.lending import service, work
from fjernlaan.lending.queues import BULK_LIMIT, QUEUE_BY_KEY, QUEUES, Queue, QueueGroup
from fjernlaan.web import kit
from fjernlaan.web.barcode import code128_svg
from fjernlaan.web.deps import ClockDep, SessionDep, optional_principal
from fjernlaan.web.i18n import N_, gettext

router = APIRouter(include_in_schema=False)
kit.add_template_dir("lending", Path(__file__).parent / "templates" / "lending")
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]

STAFF_HOME = "/staff"
GROUPS = (
    (QueueGroup.LENDING, N_("Lending")),
    (QueueGroup.BORROWING, N_("Borrowing")),
    (QueueGroup.ATTENTION, N_("Needs attention")),
)
SERVICE_CHOICES = ((lm.ServiceType.LOAN.value, N_("Loan")), (lm.ServiceType.COPY.value, N_("Copy")))
STATE_LABELS = {
    lm.RequesterState.SENT: N_("Sent to the lender"),
    lm.RequesterState.EXPECTS_TO_SUPPLY: N_("Lender will supply"),
    lm.RequesterState.SHIPPED: N_("Shipped"),
    lm.RequesterState.RECEIVED: N_("Received"),
    lm.RequesterState.DELIVERED: N_("Copy delivered"),
    lm.RequesterState.CHECKED_OUT: N_("Checked out"),
    lm.RequesterState.RENEW_PENDING: N_("Renewal asked"),
    lm.RequesterState.RECALLED: N_("Recalled"),
    lm.RequesterState.OVERDUE: N_("Overdue"),
    lm.RequesterState.RETURNED_BY_PATRON: N_("Returned by the patron"),
    lm.RequesterState.RETURN_SHIPPED: N_("Return shipped"),
    lm.RequesterState.END_OF_ROTA: N_("End of rota"),
    lm.RequesterState.CONDITIONAL: N_("Conditional"),
    lm.RequesterState.CANCEL_PENDING: N_("Cancellation asked"),
}
STEP_LABELS = {
    "mark_pulled": N_("marked pulled"),
    lm.Action.WILL_SUPPLY.value: N_("will supply"),
    lm.Action.SHIP.value: N_("shipped"),
    lm.Action.DELIVER_COPY.value: N_("copy delivered"),
    lm.Action.CONFIRM_RETURN.value: N_("checked in"),
    lm.Action.RECEIVE.value: N_("received"),
    lm.Action.CHECK_OUT.value: N_("checked out"),
    lm.Action.COMPLETE.value: N_("completed"),
    lm.Action.RETURN_BY_PATRON.value: N_("returned by the patron"),
    lm.Action.SHIP_RETURN.value: N_("return shipped"),
    lm.Action.GRANT_RENEWAL.value: N_("renewal granted"),
    lm.Action.CONFIRM_CANCEL.value: N_("cancellation confirmed"),
}


def _columns(queue: Queue) -> list[kit.Column]:
    partner = N_("Lender") if queue.party.value == "requester" else N_("Borrowing library")
    columns = [
        kit.Column("select", N_("Select"), sortable=False),
        kit.Column("id", N_("Request"), numeric=True),
        kit.Column("title", N_("Title"), filter="text"),
        kit.Column("partner", partner, filter="text"),
        kit.Column("service", N_("Service"), sortable=False, filter="select", choices=SERVICE_CHOICES),
        kit.Column("state", N_("State"), sortable=False),
    ]
    if queue.deadline is not None:
        columns.append(kit.Column("deadline", _DEADLINE_LABELS[queue.deadline.value]))
    columns.append(kit.Column("updated", N_("Last change")))
    return columns


_DEADLINE_LABELS = {
    "answer_due": N_("Answer by"),
    "pickup_due": N_("Pick up by"),
    "due_date": N_("Due"),
    "need_before": N_("Needed before"),
}


def _login(request: Request) -> Response:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def _staff_only(principal: Principal) -> None:
    if kit.role_of(principal) not in kit.STAFF_ROLES:
        raise PermissionDenied("the work pages are for library staff")


def _queue(key: str) -> Queue:
    queue = QUEUE_BY_KEY.get(key)
    if queue is None:
        raise NotFound(f"no queue {key}", field="key")
    return queue


@router.get(STAFF_HOME, response_class=HTMLResponse, response_model=None)
def dashboard(
    request: Request, session: SessionDep, principal: OptionalPrincipal, clock: ClockDep
) -> Response:
    """The staff's dashboard: every queue of their library with its count."""
    if principal is None:
        return _login(request)
    _staff_only(principal)
    if principal.library_isil is None:
        return kit.render(request, "lending/dashboard.html", principal, counts=None, groups=GROUPS)
    summary = work.queue_summary(session, principal)
    counts = summary.counts
    today = clock.now().date()
    calendar = service.cached_calendar(session, principal.library_isil)
    soonest = {
        key: (day, work.working_days_left(calendar, today, day) if key == "to_answer" else None)
        for key, day in summary.soonest.items()
        if day is not None
    }
    extras = [
        (extra, counts.get(extra.key, 0)) for extra in work.EXTRA_COUNTS.values() if extra.key in counts
    ]
    return kit.render(
        request,
        "lending/dashboard.html",
        principal,
        counts=counts,
        groups=GROUPS,
        queues=QUEUES,
        extras=extras,
        soonest=soonest,
        deadline_labels=_DEADLINE_LABELS,
    )


def _filters(query: kit.TableQuery) -> work.QueueFilters:
    service = query.filters.get("service")
    return work.QueueFilters(
        title=query.filters.get("title"),
        service=lm.ServiceType(service) if service else None,
        partner=query.filters.get("partner"),
    )


@router.get(STAFF_HOME + "/queues/{key}", response_class=HTMLResponse, response_model=None)
def queue_page(
    request: Request, key: str, session: SessionDep, principal: OptionalPrincipal, clock: ClockDep
) -> Response:
    """One queue: a table with sorting, filters and paging, a scan box and bulk actions."""
    if principal is None:
        return _login(request)
    _staff_only(principal)
    queue = _queue(key)
    if principal.library_isil is None:
        return RedirectResponse(STAFF_HOME, status_code=303)
    columns = _columns(queue)
    default_sort = "deadline" if queue.deadline is not None else "id"
    query = kit.TableQuery.from_request(request, columns, default_sort=default_sort, per_page=25)
    items, total = work.queue_page(
        session,
        principal,
        queue,
        filters=_filters(query),
        sort=query.sort,
        descending=query.descending,
        limit=query.limit,
        offset=query.offset,
        today=clock.now().date(),
    )
    return kit.render(
        request,
        "lending/queue.html",
        principal,
        queue=queue,
        table=kit.Table(columns, items, total, query, id="queue"),
        state_labels=STATE_LABELS,
        step_labels=STEP_LABELS,
        bulk_limit=BULK_LIMIT,
        results=None,
    )


@router.post(STAFF_HOME + "/queues/{key}/scan", response_class=HTMLResponse, response_model=None)
def scan(
    request: Request,
    key: str,
    session: SessionDep,
    principal: OptionalPrincipal,
    clock: ClockDep,
    barcode: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A scanned barcode: the queue's step on that request. htmx gets the result line only."""
    checked = _queue_post(request, key, principal, csrf_token)
    if isinstance(checked, Response):
        return checked
    principal, queue, lang = checked
    result = work.scan(session, principal, queue, barcode, clock.now())
    if kit.is_htmx(request):
        return kit.render(
            request,
            "lending/_scan_result.html",
            principal,
            block_name="scan_result",
            result=result,
            queue=queue,
            step_labels=STEP_LABELS,
        )
    response = RedirectResponse(f"{STAFF_HOME}/queues/{queue.key}", status_code=303)
    kit.flash(response, _result_text(result, queue, lang), "success" if result.done else "warning")
    return response


def _queue_post(
    request: Request, key: str, principal: Principal | None, csrf_token: str
) -> Response | tuple[Principal, Queue, str]:
    """The checks every post to a queue passes: logged in as staff of a library, a known queue, the
    CSRF token. Returns the answer when one fails, else the staff member, the queue and the language."""
    if principal is None:
        return _login(request)
    _staff_only(principal)
    queue = _queue(key)
    lang = kit.request_language(request)
    if not kit.check_csrf(request, csrf_token or None):
        return _expired(request, lang)
    if principal.library_isil is None:
        return RedirectResponse(STAFF_HOME, status_code=303)
    return principal, queue, lang


def _result_text(result: work.StepResult, queue: Queue, lang: str) -> str:
    if result.outcome == "done":
        return gettext("%(barcode)s: %(step)s.", lang) % {
            "barcode": result.barcode,
            "step": gettext(STEP_LABELS.get(result.step or "", result.step or ""), lang),
        }
    if result.outcome == "refused":
        return gettext("%(barcode)s: refused, nothing was changed (%(reason)s).", lang) % {
            "barcode": result.barcode,
            "reason": result.reason,
        }
    if result.outcome == "found":
        return gettext("%(barcode)s is in this queue; open it to decide.", lang) % {"barcode": result.barcode}
    return gettext("%(barcode)s is not in the queue “%(queue)s”. Nothing was changed.", lang) % {
        "barcode": result.barcode or "—",
        "queue": gettext(queue.label, lang),
    }


def _expired(request: Request, lang: str) -> Response:
    response = RedirectResponse(request.url.path.rsplit("/", 1)[0], status_code=303)
    kit.flash(response, gettext("The form has expired. Please try again.", lang), "error")
    if kit.is_htmx(request):
        return HTMLResponse(gettext("The form has expired. Please try again.", lang), status_code=400)
    return response


def _ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        if value.isdigit() and 0 < len(value) <= 12:
            ids.append(int(value))
    return list(dict.fromkeys(ids))


@router.post(STAFF_HOME + "/queues/{key}/bulk", response_class=HTMLResponse, response_model=None)
def bulk(
    request: Request,
    key: str,
    session: SessionDep,
    principal: OptionalPrincipal,
    clock: ClockDep,
    id: Annotated[list[str] | None, Form()] = None,
    do: Annotated[str, Form(max_length=20)] = "step",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The queue's step (or pull slips, `do=slips`) for the selected rows, at most `BULK_LIMIT`;
    answers with a line per row: done, or refused and why."""
    checked = _queue_post(request, key, principal, csrf_token)
    if isinstance(checked, Response):
        return checked
    principal, queue, lang = checked
    ids = _ids(id or [])
    back = RedirectResponse(f"{STAFF_HOME}/queues/{queue.key}", status_code=303)
    if not ids:
        kit.flash(back, gettext("Select at least one request.", lang), "warning")
        return back
    if len(ids) > BULK_LIMIT:
        kit.flash(
            back, gettext("Select at most %(num)d requests at a time.", lang) % {"num": BULK_LIMIT}, "error"
        )
        return back
    if do == "slips" and queue.prints_slips:
        slips = work.pull_slips(session, principal, ids, clock.now(), mark_printed=True)
        session.commit()
        return _slips_page(request, principal, slips, marked=True)
    results = work.bulk(session, principal, queue, ids, clock.now())
    return kit.render(
        request,
        "lending/bulk_result.html",
        principal,
        queue=queue,
        results=results,
        step_labels=STEP_LABELS,
        done=sum(1 for r in results if r.done),
    )


@router.get(STAFF_HOME + "/slips", response_class=HTMLResponse, response_model=None)
def slips_again(
    request: Request, session: SessionDep, principal: OptionalPrincipal, clock: ClockDep
) -> Response:
    """Pull slips printed again (`?id=1&id=2`), for requests still to pull or to ship; marks nothing."""
    if principal is None:
        return _login(request)
    _staff_only(principal)
    if principal.library_isil is None:
        return RedirectResponse(STAFF_HOME, status_code=303)
    ids = _ids(request.query_params.getlist("id"))[:BULK_LIMIT]
    slips = work.pull_slips(session, principal, ids, clock.now(), mark_printed=False)
    return _slips_page(request, principal, slips, marked=False)


def _slips_page(
    request: Request, principal: Principal, slips: list[work.PullSlip], *, marked: bool
) -> Response:
    return kit.render(
        request,
        "lending/slips.html",
        principal,
        slips=slips,
        marked=marked,
        barcodes={s.request_id: code128_svg(s.barcode, s.barcode) for s in slips},
    )
