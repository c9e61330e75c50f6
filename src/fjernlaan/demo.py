"""`fjernlaan demo`: seed the demo network. Idempotent: a second run reuses what the first made."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fjernlaan.accounts.model import Role
from fjernlaan.accounts.service import add_user, find_user
from fjernlaan.directory.demo import DEMO_CLOSURES, DEMO_USERS, load_demo_libraries
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


def seed_directory(session: Session, report: DemoReport) -> None:
    """The demo libraries (public, central, national, research, school, special, foreign) and closures."""
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
    for isil, closures in DEMO_CLOSURES.items():
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


def seed_demo(session: Session) -> DemoReport:
    """Seed every area's demo data inside the caller's unit of work."""
    report = DemoReport()
    seed_directory(session, report)
    seed_users(session, report)
    seed_network(session, report)
    return report
