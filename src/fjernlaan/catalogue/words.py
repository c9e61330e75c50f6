"""The material types' names on pages, marked for translation: the catalogue's pages and lending's
pages both show them (lending reads them here, not from the catalogue's page module)."""

from __future__ import annotations

from fjernlaan.web.i18n import N_

MATERIAL_WORDS = {
    "book": N_("Book"),
    "article": N_("Article"),
    "journal": N_("Journal"),
    "music": N_("Music"),
    "audiobook": N_("Audiobook"),
    "film": N_("Film"),
    "game": N_("Game"),
    "map": N_("Map"),
    "sheet_music": N_("Sheet music"),
    "other": N_("Other material"),
}
