"""The `fjernlaan` command: serve the hub, migrate, seed the demo, manage users and the directory."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fjernlaan.accounts.model import Actor, Role
from fjernlaan.app.migrate import upgrade
from fjernlaan.clock import SYSTEM_CLOCK, Clock, today
from fjernlaan.db.engine import make_engine
from fjernlaan.db.uow import Database
from fjernlaan.errors import DomainError
from fjernlaan.settings import get_settings

app = typer.Typer(
    help="fjernlaan: the interlibrary-loan hub.", no_args_is_help=True, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Staff users and API tokens.", no_args_is_help=True)
libraries_app = typer.Typer(help="The library directory.", no_args_is_help=True)
principles_app = typer.Typer(help="The lending principles (versioned routing rules).", no_args_is_help=True)
outbox_app = typer.Typer(help="Messages waiting to be sent to other systems.", no_args_is_help=True)
requests_app = typer.Typer(help="ILL requests.", no_args_is_help=True)
patrons_app = typer.Typer(help="Patrons: PINs for self-service.", no_args_is_help=True)
network_app = typer.Typer(
    help="The bodies that run the cooperation: members, meetings.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(libraries_app, name="libraries")
app.add_typer(outbox_app, name="outbox")
app.add_typer(principles_app, name="principles")
app.add_typer(requests_app, name="requests")
app.add_typer(patrons_app, name="patrons")
CLOCK: Clock = SYSTEM_CLOCK
"""The clock every command takes its time from (a test may swap in a `FixedClock`)."""

catalogue_app = typer.Typer(help="The union catalogue: import MARC records.", no_args_is_help=True)
holdings_app = typer.Typer(help="Libraries' holdings in the union catalogue.", no_args_is_help=True)
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(holdings_app, name="holdings")
peers_app = typer.Typer(help="ISO 18626 peers: credentials and quirks.", no_args_is_help=True)
app.add_typer(peers_app, name="peers")
app.add_typer(network_app, name="network")

console = Console()
# Errors are not wrapped at the console width: one problem per line, whole, for scripts that read stderr.
err = Console(stderr=True, soft_wrap=True)


def _database() -> Database:
    return Database(make_engine(get_settings().database_url))


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Create or migrate the database schema to the newest (or given) revision."""
    database = _database()
    upgrade(database.engine, revision)
    console.print(f"database at revision {revision} ({database.dialect})")


@app.command()
def demo(
    records: Annotated[
        int, typer.Option(min=0, help="generated catalogue titles (0: none; more than once adds none)")
    ] = 50_000,
    requests: Annotated[
        bool, typer.Option(help="demo requests in every staff queue (once; dated from today)")
    ] = True,
) -> None:
    """Seed the demo network: libraries, policies, closures, users, patrons, a catalogue and requests in
    every staff queue (idempotent)."""
    from fjernlaan.app.demo import DEMO_PATRONS, seed_demo
    from fjernlaan.directory.demo import DEMO_USERS

    database = _database()
    upgrade(database.engine)
    with database.unit_of_work() as session:
        report = seed_demo(
            session, CLOCK, records=records, requests=requests, principles=get_settings().active_principles
        )
    made = ", ".join(f"{n} {kind}" for kind, n in report.created.items()) or "nothing new (already seeded)"
    console.print(f"demo network: {made}")
    table = Table(title="Demo accounts (demo data only: never use them in production)")
    for column in ("user", "password", "role", "library"):
        table.add_column(column)
    for user in DEMO_USERS:
        table.add_row(user.username, user.password, user.role, user.library_isil or "")
    # A patron logs in at /patron/login with the card number as user and the PIN as password.
    patron = DEMO_PATRONS[0]
    table.add_row(patron.card_number, patron.pin, "patron", patron.library_isil)
    console.print(table)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on (FJERNLAAN_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (FJERNLAAN_PORT)")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="FJERNLAAN_WORKERS",
            help="server processes; one per CPU core is the recommended setting (FJERNLAAN_WORKERS)",
        ),
    ] = 1,
    access_log: Annotated[
        bool, typer.Option(help="log every HTTP request (turn off when a proxy in front logs them)")
    ] = True,
    reuse_port: Annotated[
        bool, typer.Option(hidden=True, help="listen with SO_REUSEPORT (set for the processes of --workers)")
    ] = False,
) -> None:
    """Serve the hub over HTTP."""
    import uvicorn

    from fjernlaan.app import serving

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    if reuse_port:  # one of the processes of `serve --workers N` below
        serving.serve_one(host, port, access_log=access_log, reuse_port=True)
        return
    processes = f"{workers} processes" if workers > 1 else "1 process"
    console.print(f"fjernlaan serving on [bold]http://{host}:{port}[/] with {processes} (API docs at /docs)")
    if workers > 1 and serving.reuse_port_supported():
        try:
            code = serving.serve_many(host, port, workers, access_log=access_log)
        except OSError as exc:
            raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        raise typer.Exit(code)
    # The app is built by each worker process from its own settings (the same environment), so the
    # server gets the factory's import string rather than an app object.
    uvicorn.run(
        serving.APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        # The app applies the trusted proxies' X-Forwarded-* itself (settings.trusted_proxies).
        proxy_headers=False,
    )


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[Role, typer.Option(help="staff, library_admin, coordinator or national_admin")],
    library: Annotated[str | None, typer.Option(help="ISIL of the user's library")] = None,
    password: Annotated[
        str | None, typer.Option(help="password (asked for when left out)", envvar="FJERNLAAN_NEW_PASSWORD")
    ] = None,
    name: Annotated[str, typer.Option(help="display name")] = "",
    email: Annotated[str | None, typer.Option(help="e-mail address")] = None,
) -> None:
    """Add a user."""
    from fjernlaan.accounts.service import add_user

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        with _database().unit_of_work() as session:
            principal = add_user(
                session,
                username=username,
                password=password,
                role=role,
                library_isil=library,
                display_name=name,
                email=email,
            )
    except DomainError as exc:
        raise _fail(exc.message) from exc
    console.print(
        f"added {principal.username} ({principal.role.value}, {principal.library_isil or 'no library'})"
    )


def _read_pin() -> str:
    # Never from argv (it would sit in the shell history and the process list): a hidden prompt on a
    # terminal, the first line of standard input otherwise (scripts: `printf '1234\n' | fjernlaan …`).
    if sys.stdin.isatty():
        return str(typer.prompt("PIN", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().strip()


@patrons_app.command("set-pin")
def patrons_set_pin(
    card: Annotated[str, typer.Argument(help="the patron's library card number")],
    library: Annotated[
        str | None,
        typer.Option(help="ISIL of the patron's library (needed when two libraries issued the card)"),
    ] = None,
) -> None:
    """Set a patron's PIN for self-service login; the PIN is read from a hidden prompt or standard input."""
    from fjernlaan.accounts.service import patrons_with_card, set_pin

    pin = _read_pin()
    try:
        with _database().unit_of_work() as session:
            if library is None:
                found = patrons_with_card(session, card)
                if len(found) != 1:
                    what = "no patron has" if not found else f"{len(found)} libraries issued"
                    raise DomainError(f"{what} card {card}; name the library with --library", field="card")
                library = found[0].home_library_isil
            row = set_pin(session, library, card, pin, CLOCK.now())
            where = row.home_library_isil
    except DomainError as exc:
        raise _fail(exc.message) from exc
    console.print(f"PIN set for card {card} at {where}")


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument(help="the user the token acts as")],
    label: Annotated[str, typer.Option(help="what the token is for")] = "",
    days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, help="lifetime in days (default: FJERNLAAN_API_TOKEN_DAYS, 365)"),
    ] = None,
) -> None:
    """Print a new API token for the user (shown once; only its hash is stored). It expires."""
    from fjernlaan.accounts.service import audit, issue_token

    lifetime = days or get_settings().api_token_days
    now = CLOCK.now()
    try:
        with _database().unit_of_work() as session:
            token = issue_token(session, username, label, now=now, days=lifetime)
            audit(session, _cli_actor(), "token_issued", now, target=f"user {username}", via="cli")
    except DomainError as exc:
        raise _fail(exc.message) from exc
    typer.echo(token)


def _cli_actor() -> Actor:
    # The CLI runs on the server as an operator: the audit log names the operating-system account.
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(username=f"cli:{who}"[:64])


@users_app.command("tokens")
def users_tokens(username: Annotated[str, typer.Argument(help="whose tokens")]) -> None:
    """List a user's API tokens: id, label, created, expires, last used, state."""
    from fjernlaan.accounts.service import list_tokens

    now = CLOCK.now()
    try:
        with _database().unit_of_work() as session:
            tokens = list_tokens(session, username)
    except DomainError as exc:
        raise _fail(exc.message) from exc
    table = Table(title=f"API tokens of {username}")
    for column in ("id", "label", "created", "expires", "last used", "state"):
        table.add_column(column)
    for t in tokens:
        state = "revoked" if t.revoked else ("expired" if not t.usable_at(now) else "active")
        table.add_row(
            str(t.id),
            escape(t.label),
            t.created_at.isoformat(timespec="minutes"),
            t.expires_at.isoformat(timespec="minutes") if t.expires_at else "never",
            t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "",
            state,
        )
    console.print(table)


@users_app.command("revoke")
def users_revoke(
    username: Annotated[str, typer.Argument(help="whose token")],
    token_id: Annotated[int | None, typer.Argument(help="the token's id (`users tokens USER`)")] = None,
    all_tokens: Annotated[bool, typer.Option("--all", help="revoke every token of the user")] = False,
) -> None:
    """Revoke one API token of a user (or all with --all): it stops working at once."""
    from fjernlaan.accounts.service import audit, revoke_all_tokens, revoke_token_id

    if (token_id is None) == (not all_tokens):
        raise _fail("give a token id or --all (not both)")
    now = CLOCK.now()
    try:
        with _database().unit_of_work() as session:
            if token_id is not None:
                revoke_token_id(session, username, token_id)
                what = f"token {token_id}"
            else:
                what = f"{revoke_all_tokens(session, username)} tokens"
            audit(session, _cli_actor(), "token_revoked", now, target=f"user {username} {what}", via="cli")
    except DomainError as exc:
        raise _fail(exc.message) from exc
    console.print(f"revoked {what} of {username}")


def _set_active(username: str, active: bool) -> None:
    from fjernlaan.accounts.service import audit, set_active

    now = CLOCK.now()
    try:
        with _database().unit_of_work() as session:
            set_active(session, username, active, now)
            action = "user_activated" if active else "user_deactivated"
            audit(session, _cli_actor(), action, now, target=f"user {username}", via="cli")
    except DomainError as exc:
        raise _fail(exc.message) from exc


@users_app.command("deactivate")
def users_deactivate(username: Annotated[str, typer.Argument(help="the user")]) -> None:
    """Deactivate a user: their login sessions end and their tokens stop working at once."""
    _set_active(username, False)
    console.print(f"deactivated {username}")


@users_app.command("activate")
def users_activate(username: Annotated[str, typer.Argument(help="the user")]) -> None:
    """Reactivate a deactivated user (they log in again; revoked tokens stay revoked)."""
    _set_active(username, True)
    console.print(f"activated {username}")


@app.command("audit")
def audit_log(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="entries to show")] = 50,
    user: Annotated[str | None, typer.Option(help="only this user's actions")] = None,
    action: Annotated[str | None, typer.Option(help="only this action (e.g. login_failed)")] = None,
    library: Annotated[str | None, typer.Option(help="only actions by this library's users")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
) -> None:
    """The audit log of staff and administrator actions, newest first."""
    from fjernlaan.accounts.service import list_audit

    with _database().unit_of_work() as session:
        entries, _ = list_audit(session, limit=limit, username=user, action=action, library_isil=library)
    if as_json:
        for e in entries:
            typer.echo(
                json.dumps(
                    {
                        "id": e.id,
                        "at": e.at.isoformat(),
                        "username": e.username,
                        "role": e.role,
                        "library_isil": e.library_isil,
                        "ip": e.ip,
                        "action": e.action,
                        "target": e.target,
                        "via": e.via,
                        "detail": e.detail,
                    },
                    ensure_ascii=False,
                )
            )
        return
    table = Table(title="Audit log")
    for column in ("when", "who", "from", "action", "target", "via"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            e.at.isoformat(timespec="seconds"),
            escape(e.username or ""),
            e.ip or "",
            e.action,
            escape(e.target or ""),
            escape(e.via),
        )
    console.print(table)


class ExportFormat(StrEnum):
    """Directory file formats."""

    CSV = "csv"
    JSON = "json"


@libraries_app.command("import")
def libraries_import(
    file: Annotated[
        Path, typer.Argument(help="a .csv or .json file", exists=True, dir_okay=False, readable=True)
    ],
    format: Annotated[
        ExportFormat | None, typer.Option(help="file format (default: from the suffix)")
    ] = None,
) -> None:
    """Create or update libraries from a CSV or JSON file; bad rows are skipped and reported."""
    from fjernlaan.directory.service import import_libraries, parse_rows

    fmt = format.value if format else file.suffix.lower().lstrip(".")
    try:
        rows = parse_rows(file.read_text(encoding="utf-8-sig"), fmt)
    except UnicodeDecodeError as exc:
        raise _fail(f"{file} is not UTF-8 text (byte {exc.start})") from exc
    except DomainError as exc:
        raise _fail(f"{file}: {exc.message}") from exc
    with _database().unit_of_work() as session:
        report = import_libraries(session, rows)
    for position, reason in report.skipped:
        # A CSV file's line: the header is line 1 (JSON files have no lines to name).
        where = f" (line {position + 1})" if fmt == "csv" else ""
        err.print(f"skipped row {position}{where}: {escape(reason)}", highlight=False)
    console.print(
        f"read {report.read}, created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, skipped {len(report.skipped)}"
    )
    if report.read and len(report.skipped) == report.read:
        raise typer.Exit(1)


@libraries_app.command("export")
def libraries_export(
    format: Annotated[ExportFormat, typer.Option(help="csv or json")] = ExportFormat.CSV,
    output: Annotated[Path | None, typer.Option(help="file to write (default: standard output)")] = None,
) -> None:
    """Write the whole directory as CSV or JSON (UTF-8)."""
    from fjernlaan.directory.service import export_rows, to_csv, to_json

    with _database().unit_of_work() as session:
        rows = export_rows(session)
    text = to_csv(rows) if format is ExportFormat.CSV else to_json(rows)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {len(rows)} libraries to {output}")


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _fail(f"--now {value!r} is not an ISO 8601 date-time, e.g. 2026-12-01T09:00:00+01:00") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="run one pass and stop")] = False,
    now: Annotated[str | None, typer.Option(help="the clock for this pass (ISO 8601), with --once")] = None,
    interval: Annotated[float, typer.Option(help="seconds between passes")] = 15.0,
) -> None:
    """Run the timers (deadlines, reminders) and send the outbox (e-mail, ISO 18626)."""
    import logging

    from fjernlaan.app.worker import run_forever, run_once

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    database = _database()
    if once:
        report = run_once(database, settings, _parse_now(now) or CLOCK.now())
        timers = ", ".join(f"{name} {n}" for name, n in sorted(report.timers.items())) or "none"
        console.print(
            f"timers: {timers}; outbox: sent {report.sent}, retry {report.retried}, failed {report.failed}"
        )
        return
    if now is not None:
        raise _fail("--now only goes with --once")
    run_forever(database, settings, interval, clock=CLOCK)


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="pending, sent or failed")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Show the newest outbox messages."""
    from sqlalchemy import select

    from fjernlaan.db.outbox import OUTBOX_STATUSES, OutboxMessage

    if status is not None and status not in OUTBOX_STATUSES:
        raise _fail(f"--status must be one of {', '.join(OUTBOX_STATUSES)}")
    table = Table()
    for column in ("id", "channel", "destination", "status", "attempts", "last error"):
        table.add_column(column)
    with _database().unit_of_work() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if status:
            query = query.where(OutboxMessage.status == status)
        for row in session.scalars(query):
            table.add_row(
                str(row.id), row.channel, row.destination, row.status, str(row.attempts), row.last_error or ""
            )
    console.print(table)


@outbox_app.command("retry")
def outbox_retry(message_id: Annotated[int, typer.Argument(help="the message's id")]) -> None:
    """Make a waiting or failed message due again now."""
    from fjernlaan.db.outbox import retry_message

    try:
        with _database().unit_of_work() as session:
            retry_message(session, message_id, CLOCK.now())
    except DomainError as exc:
        raise _fail(exc.message) from exc
    console.print(f"message {message_id} will be sent on the worker's next pass")


@principles_app.command("show")
def principles_show(
    source: Annotated[
        str | None, typer.Argument(help="a .toml file or a bundled version (default: the active one)")
    ] = None,
) -> None:
    """Print a principles file: tiers per requester type, weights, defaults, exclusions."""
    from fjernlaan.lending.principles import PrinciplesError, format_principles, load_principles

    try:
        principles = load_principles(source or get_settings().active_principles)
    except PrinciplesError as exc:
        raise _fail("\n".join(exc.errors)) from exc
    console.print(format_principles(principles), highlight=False)


@principles_app.command("check")
def principles_check(
    source: Annotated[str, typer.Argument(help="a .toml file or a bundled version")],
) -> None:
    """Validate a principles file; every problem is listed with the field it concerns."""
    from fjernlaan.lending.principles import check_principles, list_bundled

    problems = check_principles(source)
    if problems:
        for problem in problems:
            err.print(f"[red]✗[/] {escape(problem)}", highlight=False)
        raise typer.Exit(1)
    console.print(f"{source}: valid (bundled versions: {', '.join(list_bundled())})")


class MarcFormatOption(StrEnum):
    """MARC file formats."""

    AUTO = "auto"
    MARC = "marc"
    MARCXML = "marcxml"
    MARCXCHANGE = "marcxchange"


@catalogue_app.command("import")
def catalogue_import(
    files: Annotated[
        list[Path], typer.Argument(help="MARC files", exists=True, dir_okay=False, readable=True)
    ],
    library: Annotated[str, typer.Option(help="ISIL of the library whose records these are")],
    format: Annotated[MarcFormatOption, typer.Option(help="file format")] = MarcFormatOption.AUTO,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="records per commit")] = 500,
) -> None:
    """Import MARC21/danMARC2 records (ISO 2709 in UTF-8 or MARC-8, MARCXML, MarcXchange) with holdings.

    Re-importing a file changes nothing. Broken records are skipped and reported; the command exits
    1 only when no record at all could be read.
    """
    from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
    from rich.text import Text

    from fjernlaan.catalogue.importer import ImportReport, import_marc
    from fjernlaan.catalogue.marc import MarcFormatError

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f} records/s" if speed else "… records/s")

    database = _database()
    total = ImportReport()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} records"),
        RateColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        for file in files:
            task = progress.add_task(escape(file.name), total=None)
            try:
                report = import_marc(
                    database,
                    file,
                    library=library,
                    fmt=format.value,  # type: ignore[arg-type]
                    batch_size=batch,
                    progress=lambda n, task=task: progress.advance(task, n),  # type: ignore[misc]
                )
            except MarcFormatError as exc:
                progress.stop_task(task)
                err.print(f"[red]{escape(file.name)}:[/] not MARC: {escape(str(exc))}", highlight=False)
                continue
            except DomainError as exc:
                raise _fail(exc.message) from exc
            progress.update(task, total=report.read, completed=report.read)
            for position, reason in report.skipped:
                err.print(
                    f"{escape(file.name)}: skipped record {position}: {escape(reason)}", highlight=False
                )
            for position, reason in report.holdings_skipped:
                err.print(f"{escape(file.name)}: record {position}: {escape(reason)}", highlight=False)
            total.add(report)
    console.print(
        f"read {total.read}, created {total.created}, updated {total.updated}, "
        f"unchanged {total.unchanged}, withdrawn {total.withdrawn}, skipped {len(total.skipped)}"
    )
    if total.imported == 0 and total.read - len(total.skipped) == 0:
        raise typer.Exit(1)


@holdings_app.command("import")
def holdings_import(
    file: Annotated[Path, typer.Argument(help="a .csv or .jsonl file", exists=True, dir_okay=False)],
) -> None:
    """Set holdings from a feed: isil, identifier, copies, available, circulating. Bad rows are reported."""
    from fjernlaan.catalogue.importer import import_holdings, parse_holdings_feed

    fmt = file.suffix.lower().lstrip(".")
    try:
        text = file.read_text(encoding="utf-8-sig")
        with _database().unit_of_work() as session:
            report = import_holdings(session, parse_holdings_feed(text, fmt))
    except UnicodeDecodeError as exc:
        raise _fail(f"{file} is not UTF-8 text (byte {exc.start})") from exc
    except DomainError as exc:
        raise _fail(f"{file}: {exc.message}") from exc
    for line, reason in report.skipped:
        err.print(f"skipped line {line}: {escape(reason)}", highlight=False)
    console.print(
        f"read {report.read}, changed {report.changed}, unchanged {report.unchanged}, "
        f"skipped {len(report.skipped)}"
    )
    if report.read and len(report.skipped) == report.read:
        raise typer.Exit(1)


@network_app.command("list")
def network_list() -> None:
    """List the bodies with their active members and waiting lists."""
    from fjernlaan.network import service as network
    from fjernlaan.network.model import MembershipStatus

    table = Table()
    for column in ("id", "name", "kind", "seats", "active", "waiting"):
        table.add_column(column)
    with _database().unit_of_work() as session:
        bodies, _ = network.list_bodies(session, limit=1000)
        for body in bodies:
            _, active = network.list_members(session, body.id, limit=1)
            _, waiting = network.list_members(session, body.id, status=MembershipStatus.WAITING, limit=1)
            table.add_row(
                str(body.id), body.name, body.kind.value, str(body.capacity or ""), str(active), str(waiting)
            )
    console.print(table)


@network_app.command("import-members")
def network_import_members(
    body_id: Annotated[int, typer.Argument(help="the body's id (see `fjernlaan network list`)")],
    file: Annotated[
        Path,
        typer.Argument(help="CSV: name,email,organisation,role,library_isil", exists=True, dir_okay=False),
    ],
) -> None:
    """Apply every row's person to the body in file order; a full body puts them on the waiting list.

    Bad rows are skipped and reported with their position; members get their mails via the outbox.
    """
    import csv
    import io

    from fjernlaan.network import service as network

    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(f"{file} is not UTF-8 text (byte {exc.start})") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or ()]
    missing = [c for c in ("name", "email") if c not in header]
    unknown = [h for h in header if h not in network.IMPORT_COLUMNS]
    if missing or unknown:
        raise _fail(
            f"{file}: the header must be {','.join(network.IMPORT_COLUMNS)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(unknown)}" if unknown else "")
        )
    try:
        with _database().unit_of_work() as session:
            report = network.import_members(session, body_id, list(reader), today(CLOCK))
    except DomainError as exc:
        raise _fail(exc.message) from exc
    for position, reason in report.skipped:
        err.print(f"skipped row {position} (line {position + 1}): {escape(reason)}", highlight=False)
    console.print(
        f"read {report.read}, new people {report.people_created}, active {report.active}, "
        f"waiting {report.waiting}, skipped {len(report.skipped)}",
        highlight=False,
    )
    if report.read and len(report.skipped) == report.read:
        raise typer.Exit(1)


@requests_app.command("show")
def requests_show(request_id: Annotated[int, typer.Argument(help="the request's id")]) -> None:
    """A request as a national administrator sees it: state, rota with reasons, timeline (as JSON)."""
    from fjernlaan.accounts.model import Principal
    from fjernlaan.lending.shaping import view

    admin = Principal(user_id=0, username="cli", role=Role.NATIONAL_ADMIN, library_isil=None)
    with _database().unit_of_work() as session:
        try:
            shown = view(session, request_id, admin)
        except DomainError as exc:
            raise _fail(exc.message) from exc
    sys.stdout.write(shown.model_dump_json(indent=2) + "\n")


@peers_app.command("set")
def peers_set(
    isil: Annotated[str, typer.Argument(help="the peer's ISIL (a library in the directory)")],
    account_id: Annotated[str | None, typer.Option(help="accountId the peer sends")] = None,
    security_code: Annotated[
        str | None, typer.Option(help="securityCode the peer sends (stored hashed; at least 8 characters)")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="peer software: generic, reshare or crosslink")] = None,
    unfilled_at_end: Annotated[
        bool | None,
        typer.Option("--unfilled-at-end/--unfilled-each", help="send Unfilled only at the end of the rota"),
    ] = None,
) -> None:
    """Create or change a peer's credentials and quirks (options not given stay as they are)."""
    from fjernlaan.iso18626.peers import KEEP, set_peer
    from fjernlaan.iso18626.quirks import Peer

    try:
        peer_kind = Peer(kind) if kind else None
    except ValueError:
        raise _fail(f"--kind must be one of {', '.join(p.value for p in Peer)}") from None
    try:
        with _database().unit_of_work() as session:
            view = set_peer(
                session,
                isil,
                account_id=account_id if account_id is not None else KEEP,
                security_code=security_code if security_code is not None else KEEP,
                kind=peer_kind,
                unfilled_only_at_end_of_rota=unfilled_at_end,
            )
    except DomainError as exc:
        raise _fail(exc.message) from exc
    unfilled = "only at the end of the rota" if view.profile.unfilled_only_at_end_of_rota else "each time"
    console.print(
        f"peer {view.library_isil}: {view.profile.kind.value}, ISO 18626 {view.version.value}, "
        f"accountId {view.account_id or '-'}, securityCode {'set' if view.has_security_code else 'not set'}, "
        f"bearer token {'set' if view.has_bearer_token else 'not set'}, "
        f"our token for it {'set' if view.has_outbound_token else 'not set'}, "
        f"Unfilled {unfilled}"
    )


@peers_app.command("token")
def peers_token(isil: Annotated[str, typer.Argument(help="the peer's ISIL")]) -> None:
    """Print a new bearer token for the peer (replaces the old one; only its hash is stored)."""
    from fjernlaan.iso18626.peers import issue_peer_token

    try:
        with _database().unit_of_work() as session:
            token = issue_peer_token(session, isil)
    except DomainError as exc:
        raise _fail(exc.message) from exc
    print(token)


@peers_app.command("outbound-token")
def peers_outbound_token(
    isil: Annotated[str, typer.Argument(help="the peer's ISIL")],
    clear: Annotated[bool, typer.Option("--clear", help="forget the peer's token")] = False,
) -> None:
    """Store the bearer token a peer issued to us, read from standard input (so it stays out of the
    shell history and the process list); we present it on every message we post to that peer."""
    from fjernlaan.iso18626.peers import set_peer

    token: str | None = None
    if not clear:
        lines = sys.stdin.read().splitlines()
        token = lines[0] if lines else ""
    try:
        with _database().unit_of_work() as session:
            view = set_peer(session, isil, outbound_token=token)
    except DomainError as exc:
        raise _fail(exc.message) from exc
    state = (
        "stored"
        if view.has_outbound_token
        else "cleared (the hub's FJERNLAAN_ISO18626_OUTBOUND_TOKEN applies)"
    )
    console.print(f"peer {view.library_isil}: token for posting to it {state}")


privacy_app = typer.Typer(
    help="Patrons' personal data: erasure after the retention period.", no_args_is_help=True
)
app.add_typer(privacy_app, name="privacy")


@privacy_app.command("erase")
def privacy_erase(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only count what would be erased")] = False,
    days: Annotated[
        int | None,
        typer.Option(min=1, help="retention in days (default: FJERNLAAN_PATRON_DATA_RETENTION_DAYS, 90)"),
    ] = None,
    now: Annotated[str | None, typer.Option(help="the clock for this run (ISO 8601)")] = None,
) -> None:
    """Erase the personal data of requests that ended more than the retention period ago (the worker
    does this on every pass too)."""
    from fjernlaan.privacy.service import erase

    retention = days or get_settings().patron_data_retention_days
    moment = _parse_now(now) or CLOCK.now()
    with _database().unit_of_work() as session:
        report = erase(session, moment, retention, dry_run=dry_run, actor=_cli_actor(), via="cli")
    verb = "would erase" if dry_run else "erased"
    console.print(
        f"{verb} (requests ended before {report.cutoff.isoformat(timespec='seconds')}): "
        f"{report.requests} requests, {report.patrons} patrons, {report.outbox_messages} outbox messages, "
        f"{report.inbound_bodies} ISO 18626 message bodies"
    )


@app.command("backup")
def backup_command(file: Annotated[Path, typer.Argument(help="where to write the backup")]) -> None:
    """Back up the whole database while the hub runs (SQLite: online backup; PostgreSQL: pg_dump)."""
    from fjernlaan.db.backup import backup

    database = _database()
    try:
        backup(database.engine, file)
    except DomainError as exc:
        raise _fail(exc.message) from exc
    console.print(f"backed up the {database.dialect} database to {file}")


@app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="a backup made by `fjernlaan backup`")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask before replacing the database")] = False,
) -> None:
    """Replace the whole database with a backup (stop the hub's servers and workers first)."""
    from fjernlaan.db.backup import restore

    if not yes and not typer.confirm("This replaces every row of the database. Go on?"):
        raise typer.Exit(1)
    database = _database()
    try:
        restore(database.engine, file)
    except DomainError as exc:
        raise _fail(exc.message) from exc
    console.print(f"restored the {database.dialect} database from {file}")


# Last, after every command is defined: `python -m fjernlaan.app.cli` must know them all.
if __name__ == "__main__":
    app()
