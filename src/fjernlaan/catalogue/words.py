"""Words of the catalogue that pages of several areas show: material types in plain words (msgids,
translated by the page's catalogue). Public, not a views module, so other areas' pages import it."""

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
