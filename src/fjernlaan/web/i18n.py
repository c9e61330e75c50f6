"""The UI's two languages: Danish (default) and English."""

from __future__ import annotations

LANGUAGES = ("da", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "app_name": {"da": "fjernlån", "en": "fjernlaan ILL hub"},
    "tagline": {
        "da": "Fjernlånshub for bibliotekernes lånesamarbejde",
        "en": "Interlibrary-loan hub of the libraries' lending cooperation",
    },
    "login": {"da": "Log ind", "en": "Log in"},
    "logout": {"da": "Log ud", "en": "Log out"},
    "username": {"da": "Brugernavn", "en": "Username"},
    "password": {"da": "Adgangskode", "en": "Password"},
    "wrong_login": {"da": "Forkert brugernavn eller adgangskode.", "en": "Wrong username or password."},
    "csrf_failed": {
        "da": "Formularen er udløbet. Prøv igen.",
        "en": "The form has expired. Please try again.",
    },
    "welcome": {"da": "Velkommen", "en": "Welcome"},
    "libraries": {"da": "Biblioteker", "en": "Libraries"},
    "api_docs": {"da": "API-dokumentation", "en": "API documentation"},
    "language": {"da": "English", "en": "Dansk"},
    "role": {"da": "Rolle", "en": "Role"},
    "library": {"da": "Bibliotek", "en": "Library"},
    "type": {"da": "Type", "en": "Type"},
    "region": {"da": "Region", "en": "Region"},
    "name": {"da": "Navn", "en": "Name"},
    "logged_in_as": {"da": "Logget ind som", "en": "Logged in as"},
}


def translate(key: str, lang: str) -> str:
    """The message in the language (Danish when the language is unknown; the key when unknown)."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["da"]


def pick_language(query: str | None, cookie: str | None, default: str = "da") -> str:
    """The language asked for in the query, then the cookie, then the default."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return default
