"""Code 128 barcodes as inline SVG (python-barcode), for labels and slips that a hand scanner reads."""

from __future__ import annotations

import io
import re
from functools import lru_cache

from barcode import Code128
from barcode.writer import SVGWriter
from markupsafe import Markup, escape

_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# The hub's Content-Security-Policy allows no inline style, so colours become presentation attributes;
# the group's fixed id would repeat on a page of several barcodes.
_STYLE_FILL = re.compile(r'style="fill:\s*([a-z#0-9]+);?"')
_GROUP_ID = re.compile(r'\s+id="barcode_group"')
# A viewBox in millimetres lets CSS scale the barcode (a slip's fills the slip's width): the outer
# size stays in mm, the bars' coordinates become plain numbers in the viewBox's units.
_SVG_SIZE = re.compile(r'<svg[^>]*?width="([\d.]+)mm" height="([\d.]+)mm"[^>]*>')
_MM = re.compile(r'="([\d.]+)mm"')

# Bars at 0.33 mm and 12 mm high read well with ordinary hand scanners on a label printer; the
# number is printed under the bars as text (python-barcode's text is left out: the page prints it).
_OPTIONS = {"module_width": 0.33, "module_height": 12.0, "quiet_zone": 4.0, "write_text": False}


@lru_cache(maxsize=512)
def _svg(text: str) -> str:
    buffer = io.BytesIO()
    Code128(text, writer=SVGWriter()).write(buffer, options=_OPTIONS)
    svg = buffer.getvalue().decode("utf-8")
    # Inline in HTML: no XML prologue, doctype or comments.
    svg = _COMMENT.sub("", _PROLOGUE.sub("", svg, count=1))
    svg = _GROUP_ID.sub("", _STYLE_FILL.sub(r'fill="\1"', svg))
    size = _SVG_SIZE.search(svg)
    if size is not None:
        width, height = size.group(1), size.group(2)
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}mm" height="{height}mm">'
        )
        svg = head + _MM.sub(r'="\1"', svg[size.end() :])
    return re.sub(r">\s+<", "><", svg).strip()


def code128_svg(text: str, label: str) -> Markup:
    """An inline `<svg>` with `text` as a Code 128 barcode; `label` is what a screen reader says."""
    svg = _svg(text)
    accessible = f'<svg role="img" aria-label="{escape(label)}" class="fjl-barcode"'
    return Markup(svg.replace("<svg", accessible, 1))
