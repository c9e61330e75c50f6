"""`fjernlaan demo`: seed the demo network. Idempotent: a second run reuses what the first made."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fjernlaan.accounts.model import PatronCategory, Role
from fjernlaan.accounts.service import PatronIn, add_patron, add_user, find_patron, find_user, set_pin
from fjernlaan.clock import Clock, today
from fjernlaan.directory.demo import DEMO_USERS, demo_closures, load_demo_libraries
from fjernlaan.directory.schemas import ClosureIn, LibraryCreate
from fjernlaan.directory.service import add_closure, create_library, library_exists
from fjernlaan.directory.store import ClosureRow, LibraryRow
from fjernlaan.network.demo import seed_network


@dataclass
class DemoReport:
    """What the demo seeding created, per kind of thing."""

    created: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int = 1) -> None:
        """Count n more created things of this kind."""
        self.created[kind] = self.created.get(kind, 0) + n


def seed_directory(session: Session, report: DemoReport, clock: Clock) -> None:
    """The demo libraries (public, central, national, research, school, special, foreign) and closures
    (the next ones as of the clock's today)."""
    libraries = load_demo_libraries()
    # Central libraries first: public libraries refer to them.
    ordered = sorted(libraries, key=lambda lib: (lib.central_isil not in (None, lib.isil), lib.isil))
    for lib in ordered:
        if library_exists(session, lib.isil):
            continue
        data = LibraryCreate(
            isil=lib.isil,
            name=lib.name,
            type=lib.type,
            municipality_code=lib.municipality_code,
            region=lib.region,
            central_isil=None if lib.central_isil == lib.isil else lib.central_isil,
            transport_hub=None if lib.transport_hub == lib.isil else lib.transport_hub,
            email=lib.email,
            iso18626_endpoint=lib.iso18626_endpoint,
            iso18626_version=lib.iso18626_version,
        )
        create_library(session, data, lib.policy)
        report.add("libraries")
    session.flush()
    # Self-references (a central library is its own central library and hub) once the row exists.
    for lib in ordered:
        row = session.get(LibraryRow, lib.isil)
        assert row is not None
        if lib.central_isil == lib.isil and row.central_isil is None:
            row.central_isil = lib.isil
        if lib.transport_hub == lib.isil and row.transport_hub is None:
            row.transport_hub = lib.isil
    for isil, closures in demo_closures(today(clock)).items():
        if session.scalar(select(ClosureRow.id).where(ClosureRow.library_isil == isil).limit(1)) is not None:
            continue
        for closure in closures:
            add_closure(
                session, isil, ClosureIn(starts=closure.starts, ends=closure.ends, reason=closure.reason)
            )
            report.add("closures")


def seed_users(session: Session, report: DemoReport) -> None:
    """One demo user per library type, a coordinator and the admin (demo data only)."""
    for user in DEMO_USERS:
        if find_user(session, user.username) is not None:
            continue
        add_user(
            session,
            username=user.username,
            password=user.password,
            role=Role(user.role),
            library_isil=user.library_isil,
            display_name=user.display_name,
        )
        report.add("users")


@dataclass(frozen=True)
class DemoPatron:
    """A demo patron with a PIN for self-service (demo data only)."""

    card_number: str
    pin: str
    name: str
    library_isil: str
    email: str
    language: str = "da"


#: Demo patrons: the first is the one `fjernlaan demo` prints (demo data only: never in production).
DEMO_PATRONS: tuple[DemoPatron, ...] = (
    DemoPatron("1000000001", "1234", "Åse Ødegård", "DK-710100", "aase.oedegaard@example.dk"),
    DemoPatron("2000000002", "2468", "Søren Ærbø", "DK-715700", "soeren.aerboe@example.dk", "en"),
)


def seed_patrons(session: Session, report: DemoReport, clock: Clock) -> dict[str, int]:
    """The demo patrons with their PINs; returns each demo library's patron id (home ISIL → id)."""
    ids: dict[str, int] = {}
    for patron in DEMO_PATRONS:
        row = find_patron(session, patron.library_isil, patron.card_number)
        if row is None:
            row = add_patron(
                session,
                PatronIn(
                    card_number=patron.card_number,
                    name=patron.name,
                    email=patron.email,
                    category=PatronCategory.ADULT,
                    home_library=patron.library_isil,
                    language=patron.language,
                ),
            )
            report.add("patrons")
        if not row.pin_hash:
            set_pin(session, patron.library_isil, patron.card_number, patron.pin, clock.now())
        ids[patron.library_isil] = row.id
    return ids


#: Demo peer credentials for the foreign libraries (demo data only: never use them in production).
DEMO_PEERS: tuple[tuple[str, str, str, bool], ...] = (
    # ISIL, accountId, securityCode, Unfilled only at the end of the rota
    ("SE-L", "fjernlaan-lund", "demo-lund-sikkerhedskode", False),
    ("NO-0030100", "fjernlaan-oslo", "demo-oslo-sikkerhedskode", True),
)


def seed_peers(session: Session, report: DemoReport) -> None:
    """ISO 18626 credentials for the foreign demo libraries (skipped when a peer is already set up)."""
    from fjernlaan.iso18626.peers import peer_view, set_peer

    for isil, account_id, security_code, unfilled_at_end in DEMO_PEERS:
        if not library_exists(session, isil) or peer_view(session, isil).configured:
            continue
        set_peer(
            session,
            isil,
            account_id=account_id,
            security_code=security_code,
            unfilled_only_at_end_of_rota=unfilled_at_end,
        )
        report.add("iso18626 peers")


def seed_demo(
    session: Session,
    clock: Clock,
    records: int = 0,
    *,
    requests: bool = False,
    principles: str = "dk-2012",
) -> DemoReport:
    """Seed every area's demo data inside the caller's unit of work, dated relative to `clock`
    (closures and meetings ahead, memberships and minutes behind), so the demo never goes stale.

    `records` generated catalogue titles are added (0, the default, adds no catalogue; the
    `fjernlaan demo` command asks for 50,000). `requests` adds the demo requests in every staff queue
    (`lending.demo.seed_requests`, under the `principles` version); `fjernlaan demo` does, tests that
    only need the network leave it off to stay quick.
    """
    report = DemoReport()
    seed_directory(session, report, clock)
    seed_users(session, report)
    seed_peers(session, report)
    seed_network(session, report, clock)
    patrons = seed_patrons(session, report, clock)
    if records:
        from fjernlaan.catalogue.demo import seed_catalogue

        session.flush()
        libraries = [(row.isil, row.type) for row in session.scalars(select(LibraryRow))]
        added = seed_catalogue(session, records, libraries)
        if added:
            report.add("catalogue records", added)
    if requests:
        from fjernlaan.lending.demo import seed_requests

        session.flush()
        placed = seed_requests(session, clock, patrons, principles)
        if placed:
            report.add("requests", placed)
    return report
