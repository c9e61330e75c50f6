"""Docs that cannot drift (after datasette's tests/test_docs.py): one test per setting, command, route
and mail template, failing when the thing is undocumented.

- every `Settings` field has a row in docs/settings.md (and every row there is a field);
- every command and subcommand of the `fjernlaan` console script has a heading in docs/cli.md, with
  each of its options in its section (and every heading there is a command);
- every route in the OpenAPI description has a summary of its own and a row in docs/routes.md with
  that summary (and every row there is a route);
- every mail template has a Danish and an English version and a row in docs/notifications.md.
"""

from __future__ import annotations

import importlib.metadata
import re
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer

from fjernlaan.notify.mail import LANGUAGES, TEMPLATES
from fjernlaan.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# --- settings --------------------------------------------------------------------------------------

_SETTING_ROW = re.compile(r"^\| `(FJERNLAAN_[A-Z0-9_]+)` \|", re.MULTILINE)


def _env_name(field: str) -> str:
    return f"FJERNLAAN_{field.upper()}"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_setting_is_documented(field: str) -> None:
    assert _env_name(field) in _SETTING_ROW.findall(_doc("settings.md")), (
        f"docs/settings.md needs a row `| `{_env_name(field)}` | default | meaning |`"
    )


def test_settings_doc_names_only_settings() -> None:
    real = {_env_name(f) for f in Settings.model_fields}
    assert [n for n in _SETTING_ROW.findall(_doc("settings.md")) if n not in real] == []


# --- the command line ------------------------------------------------------------------------------


def _cli_root() -> Any:
    """The click command behind the `fjernlaan` console script, wherever its module lives."""
    (entry_point,) = importlib.metadata.entry_points(group="console_scripts", name="fjernlaan")
    return typer.main.get_command(entry_point.load())


def _walk(command: Any, path: tuple[str, ...]) -> list[tuple[str, Any]]:
    found = [(" ".join(path), command)] if len(path) > 1 else []
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not getattr(sub, "hidden", False):
            found += _walk(sub, (*path, name))
    return found


@cache
def _commands() -> dict[str, Any]:
    return dict(_walk(_cli_root(), ("fjernlaan",)))


_COMMAND_HEADING = re.compile(r"^#+ `(fjernlaan[^`]*)`$", re.MULTILINE)


def _cli_sections() -> dict[str, str]:
    """docs/cli.md cut at its command headings: each command's text (up to the next heading)."""
    text = _doc("cli.md")
    marks = list(_COMMAND_HEADING.finditer(text))
    ends = [m.start() for m in marks[1:]] + [len(text)]
    return {m.group(1): text[m.end() : end] for m, end in zip(marks, ends, strict=True)}


def _options(command: Any) -> list[str]:
    return [
        opt
        for param in getattr(command, "params", [])
        if getattr(param, "param_type_name", "") == "option" and not getattr(param, "hidden", False)
        for opt in param.opts
        if opt.startswith("--") and opt != "--help"
    ]


@pytest.mark.parametrize("command", sorted(_commands()))
def test_command_is_documented(command: str) -> None:
    sections = _cli_sections()
    assert command in sections, f"docs/cli.md needs a heading `## `{command}``"
    missing = [o for o in _options(_commands()[command]) if f"`{o}`" not in sections[command]]
    assert missing == [], f"docs/cli.md: the section on `{command}` does not name {missing}"


def test_cli_doc_names_only_commands() -> None:
    assert [c for c in _cli_sections() if c not in _commands()] == []


# --- HTTP routes -----------------------------------------------------------------------------------


def _create_app() -> Any:
    from fjernlaan.app.factory import create_app

    return create_app(Settings(database_url="sqlite://", secret_key="test-docs"))


@cache
def _openapi() -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. /sru's GET and POST share one operation id
        schema: dict[str, Any] = _create_app().openapi()
    return schema


def _operations() -> dict[str, dict[str, Any]]:
    """'METHOD /path' -> its OpenAPI operation."""
    return {
        f"{method.upper()} {path}": operation
        for path, methods in _openapi()["paths"].items()
        for method, operation in methods.items()
    }


def _generated_summary(path: str, method: str, operation: dict[str, Any]) -> str:
    """What FastAPI makes up when a route gives no summary: its function's name in title case (the
    name is the operation id less the path and method FastAPI appends to it)."""
    suffix = re.sub(r"\W", "_", path) + "_" + method.lower()
    name = operation.get("operationId", "").removesuffix(suffix)
    return name.replace("_", " ").title()


_ROUTE_ROW = re.compile(r"^\| ([A-Z]+) \| `([^`]+)` \| (.*) \|$", re.MULTILINE)


def _route_rows() -> dict[str, str]:
    return {f"{m} {p}": summary for m, p, summary in _ROUTE_ROW.findall(_doc("routes.md"))}


@pytest.mark.parametrize("route", sorted(_operations()))
def test_route_has_summary_and_is_documented(route: str) -> None:
    method, path = route.split(" ", 1)
    operation = _operations()[route]
    summary = operation.get("summary", "")
    assert summary and summary != _generated_summary(path, method, operation), (
        f"{route} needs a summary= of its own (what it does, and who may call it)"
    )
    assert _route_rows().get(route) == summary, (
        f"docs/routes.md needs the row `| {method} | `{path}` | {summary} |`"
    )


def test_routes_doc_names_only_routes() -> None:
    assert [r for r in _route_rows() if r not in _operations()] == []


# --- mail templates --------------------------------------------------------------------------------


def _template_names() -> list[str]:
    return sorted({p.name.split(".", 1)[0] for p in TEMPLATES.glob("*.txt")})


_TEMPLATE_ROW = re.compile(r"^\| `([a-z0-9_]+)` \|", re.MULTILINE)


@pytest.mark.parametrize("template", _template_names())
def test_template_is_in_every_language_and_documented(template: str) -> None:
    missing = [lang for lang in LANGUAGES if not (TEMPLATES / f"{template}.{lang}.txt").is_file()]
    assert missing == [], f"notify/templates/{template} has no version in {missing}"
    assert template in _TEMPLATE_ROW.findall(_doc("notifications.md")), (
        f"docs/notifications.md needs a row `| `{template}` | sent when |`"
    )
