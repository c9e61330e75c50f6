"""The words the pages show for catalogue values (English msgids, translated where shown): the
catalogue's search page and the lending area's request pages use the same ones."""

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
