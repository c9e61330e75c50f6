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
    "too_many_logins": {
        "da": "For mange forsøg på at logge ind. Prøv igen om {seconds} sekunder.",
        "en": "Too many login attempts. Try again in {seconds} seconds.",
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
    "network": {"da": "Netværk og fora", "en": "Networks and forums"},
    "my_bodies": {"da": "Mine netværk og fora", "en": "My bodies"},
    "all_bodies": {"da": "Alle netværk, fora og arbejdsgrupper", "en": "All bodies"},
    "coordinated_bodies": {"da": "Netværk jeg koordinerer", "en": "Bodies I coordinate"},
    "upcoming_meetings": {"da": "Kommende møder", "en": "Upcoming meetings"},
    "meetings": {"da": "Møder", "en": "Meetings"},
    "meeting": {"da": "Møde", "en": "Meeting"},
    "members": {"da": "Medlemmer", "en": "Members"},
    "waiting_list": {"da": "Venteliste", "en": "Waiting list"},
    "minutes": {"da": "Referater", "en": "Minutes"},
    "minutes_one": {"da": "Referat", "en": "Minutes"},
    "kind_network": {"da": "netværk", "en": "network"},
    "kind_forum": {"da": "forum", "en": "forum"},
    "kind_working_group": {"da": "arbejdsgruppe", "en": "working group"},
    "status": {"da": "Status", "en": "Status"},
    "status_active": {"da": "aktiv", "en": "active"},
    "status_waiting": {"da": "på venteliste", "en": "waiting"},
    "status_withdrawn": {"da": "udmeldt", "en": "withdrawn"},
    "status_resigned": {"da": "udtrådt", "en": "resigned"},
    "organisation": {"da": "Bibliotek/organisation", "en": "Library/organisation"},
    "email": {"da": "E-mail", "en": "E-mail"},
    "joined": {"da": "Indmeldt", "en": "Joined"},
    "applied": {"da": "Ansøgt", "en": "Applied"},
    "capacity": {"da": "Pladser", "en": "Seats"},
    "absence_limit": {
        "da": "Udmeldes efter fravær fra møder i træk",
        "en": "Withdrawn after missed meetings in a row",
    },
    "mandate": {"da": "Kommissorium", "en": "Mandate"},
    "apply": {"da": "Optag/skriv på venteliste", "en": "Admit or put on waiting list"},
    "add_applicant": {"da": "Ny ansøger", "en": "New applicant"},
    "resign": {"da": "Udtræd", "en": "Resign"},
    "withdraw": {"da": "Udmeld", "en": "Withdraw"},
    "why": {"da": "Begrundelse", "en": "Reason"},
    "role_in_body": {"da": "Funktion", "en": "Role"},
    "sessions": {"da": "Tid og sted", "en": "Time and place"},
    "agenda": {"da": "Dagsorden", "en": "Agenda"},
    "attendance": {"da": "Fremmøde", "en": "Attendance"},
    "mark_present": {"da": "til stede", "en": "present"},
    "mark_absent": {"da": "fraværende", "en": "absent"},
    "mark_absent_with_agreement": {"da": "afbud efter aftale", "en": "absent with agreement"},
    "save_attendance": {"da": "Gem fremmøde", "en": "Save attendance"},
    "close_attendance": {"da": "Afslut fremmøde", "en": "Close attendance"},
    "attendance_closed": {"da": "Fremmødet er afsluttet.", "en": "Attendance is closed."},
    "send_invitations": {"da": "Send invitationer", "en": "Send invitations"},
    "write_minutes": {"da": "Skriv referat", "en": "Write minutes"},
    "save": {"da": "Gem", "en": "Save"},
    "publish": {"da": "Offentliggør og send til medlemmerne", "en": "Publish and send to the members"},
    "published": {"da": "Offentliggjort", "en": "Published"},
    "draft": {"da": "Udkast", "en": "Draft"},
    "decisions": {"da": "Beslutninger", "en": "Decisions"},
    "add_decision": {"da": "Tilføj beslutning", "en": "Add decision"},
    "action_items": {"da": "Opgaver", "en": "Action items"},
    "add_action_item": {"da": "Tilføj opgave", "en": "Add action item"},
    "owner": {"da": "Ansvarlig", "en": "Owner"},
    "due": {"da": "Frist", "en": "Due"},
    "working_group": {"da": "Arbejdsgruppe", "en": "Working group"},
    "working_group_organisations": {
        "da": "Organisationer (én pr. linje)",
        "en": "Organisations (one per line)",
    },
    "tasks": {"da": "Opgaver", "en": "Tasks"},
    "calendar_feed": {"da": "Kalender (.ics)", "en": "Calendar (.ics)"},
    "my_calendar_feed": {"da": "Min mødekalender (.ics)", "en": "My meeting calendar (.ics)"},
    "atom_feed": {"da": "Referater som feed (Atom)", "en": "Minutes feed (Atom)"},
    "not_a_member": {
        "da": "Du er ikke registreret som medlem af et netværk.",
        "en": "You are not registered as a member of any body.",
    },
    "no_minutes": {"da": "Der er ikke skrevet referat endnu.", "en": "No minutes yet."},
    "none": {"da": "Ingen.", "en": "None."},
    "title": {"da": "Titel", "en": "Title"},
    "date": {"da": "Dato", "en": "Date"},
    "done": {"da": "Udført.", "en": "Done."},
    "text": {"da": "Tekst", "en": "Text"},
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
