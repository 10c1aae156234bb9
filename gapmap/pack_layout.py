"""The pack's typesetting: ReportLab platypus pages, styles, tables, page numbers and maps.

`gapmap.pack` and `gapmap.pack_commissioning` say what goes in the pack; this module says how
it is set: A4 pages (portrait for text, landscape for wide tables and maps), DejaVu Sans
embedded from matplotlib's own fonts (so ≥ − × £ render with no system font), tables that
split across pages with their header repeated, "Page n of N" and the selection's name in every
footer, the demo badge, and a contents list filled in once every section's page is known.

Paragraphs parse XML-like markup, so every piece of user text (area, service, partnership and
file names) goes through `esc` or `p`, never straight into a `Paragraph`.

Maps are matplotlib figures (`gapmap.staticmap`), saved together as one vector PDF (fonts
embedded once) and laid under their pages afterwards (`stamp_maps`): platypus reserves the
room (`MapSlot`) and pypdf places each figure's page there as a form XObject, so the map
stays vector and searchable.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    LongTable,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    TableStyle,
)

from gapmap.palette import text_on
from gapmap.wording import CROWN_COPYRIGHT, DEMO_BADGE, ONS_ATTRIBUTION

FONT = "GapmapSans"
FONT_BOLD = "GapmapSans-Bold"
FONT_ITALIC = "GapmapSans-Oblique"
FONT_BOLD_ITALIC = "GapmapSans-BoldOblique"
PORTRAIT = A4
LANDSCAPE = landscape(A4)
MARGIN = 15 * mm
#: Room under the frame for the two footer lines.
FOOTER_H = 13 * mm
TEXT_COLOUR = colors.HexColor("#111111")
GREY = colors.HexColor("#444444")
RULE = colors.HexColor("#cccccc")
HEAD_FILL = colors.HexColor("#e6e6e6")
GROUP_FILL = colors.HexColor("#bdbdbd")
BADGE_RED = colors.HexColor("#b2182b")
#: A rectangle on a page: x, y, width, height in points.
Box = tuple[float, float, float, float]
CAVEAT_RED = colors.HexColor("#8a1c1c")


# --------------------------------------------------------------------------- fonts and text


@cache
def register_fonts() -> None:
    """DejaVu Sans from matplotlib's mpl-data, embedded (subset) in the PDF: no system font needed."""
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in (
        (FONT, "DejaVuSans.ttf"),
        (FONT_BOLD, "DejaVuSans-Bold.ttf"),
        (FONT_ITALIC, "DejaVuSans-Oblique.ttf"),
        (FONT_BOLD_ITALIC, "DejaVuSans-BoldOblique.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, str(ttf / file)))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC, boldItalic=FONT_BOLD_ITALIC
    )


def esc(text: Any) -> str:
    """User text made safe for a Paragraph: `<`, `>` and `&` as entities, so it reads literally."""
    return escape(str(text))


def fit(text: str, font: str, size: float, width: float) -> str:
    """`text` cut with an ellipsis to `width` points (for single lines drawn on the canvas)."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


@dataclass(frozen=True)
class Styles:
    """The pack's paragraph styles (one definition, so every page reads alike)."""

    title: ParagraphStyle
    h1: ParagraphStyle
    h2: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    note: ParagraphStyle
    caveat: ParagraphStyle
    demo: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    cell_right: ParagraphStyle
    head: ParagraphStyle
    head_small: ParagraphStyle
    bullet: ParagraphStyle


@cache
def styles() -> Styles:
    register_fonts()
    base = ParagraphStyle(
        "body", fontName=FONT, fontSize=9.5, leading=12.5, textColor=TEXT_COLOUR, spaceAfter=4
    )
    cell = ParagraphStyle("cell", base, fontSize=8, leading=9.6, spaceAfter=0)
    return Styles(
        title=ParagraphStyle("title", base, fontName=FONT_BOLD, fontSize=17, leading=21, spaceAfter=8),
        h1=ParagraphStyle(
            "h1",
            base,
            fontName=FONT_BOLD,
            fontSize=14,
            leading=17,
            spaceBefore=2,
            spaceAfter=6,
            keepWithNext=1,
        ),
        h2=ParagraphStyle(
            "h2",
            base,
            fontName=FONT_BOLD,
            fontSize=11.5,
            leading=14,
            spaceBefore=8,
            spaceAfter=3,
            keepWithNext=1,
        ),
        body=base,
        small=ParagraphStyle("small", base, fontSize=8.5, leading=11, textColor=colors.HexColor("#333333")),
        note=ParagraphStyle("note", base, fontName=FONT_ITALIC, fontSize=8.5, leading=11),
        caveat=ParagraphStyle("caveat", base, fontName=FONT_BOLD, textColor=CAVEAT_RED),
        demo=ParagraphStyle("demo", base, fontName=FONT_BOLD, textColor=BADGE_RED),
        cell=cell,
        cell_bold=ParagraphStyle("cell_bold", cell, fontName=FONT_BOLD),
        cell_right=ParagraphStyle("cell_right", cell, alignment=TA_RIGHT),
        head=ParagraphStyle("head", cell, fontName=FONT_BOLD, embeddedHyphenation=1),
        # Narrow headers break at a word's own hyphen ("victim-/survivors") before splitting it anywhere.
        head_small=ParagraphStyle(
            "head_small", cell, fontName=FONT_BOLD, fontSize=6, leading=7.2, embeddedHyphenation=1
        ),
        bullet=ParagraphStyle("bullet", base, leftIndent=10, bulletIndent=0, spaceAfter=2),
    )


def p(text: Any, style: ParagraphStyle | None = None) -> Paragraph:
    """A paragraph of plain (user) text: escaped, so markup in it reads literally."""
    return Paragraph(esc(text), style or styles().body)


def pm(markup: str, style: ParagraphStyle | None = None) -> Paragraph:
    """A paragraph of markup the pack wrote itself; user text in it must already be `esc`aped."""
    return Paragraph(markup, style or styles().body)


def bullet(text: Any, style: ParagraphStyle | None = None) -> Paragraph:
    return Paragraph(esc(text), style or styles().bullet, bulletText="•")


# --------------------------------------------------------------------------- flowables


def new_page(template: str) -> list[Flowable]:
    """Start a new page on `template` ("portrait", "landscape" or "map": see `PackDoc`)."""
    return [NextPageTemplate(template), PageBreak()]


class StatusCell(Flowable):
    """A table cell: a swatch (fill and pattern, as on the maps) and the status word beside it.

    The word carries the meaning; the pattern keeps it in greyscale (hatched = not met,
    dotted = partly met, crossed = no data).
    """

    SWATCH = 9.0

    def __init__(self, word: str, fill: str, hatch: str = "", *, bold: bool = True) -> None:
        super().__init__()
        self.word, self.fill, self.hatch, self.bold = word, fill, hatch, bold

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        return availWidth, 10.0

    def draw(self) -> None:
        c, s = self.canv, self.SWATCH
        # Each swatch is drawn once as a form and placed by name: a table of hundreds of
        # hatched cells costs one "Do" each, not a hatch's worth of lines.
        name = f"swatch{self.fill.lstrip('#')}{self.hatch.encode().hex()}"
        if not c.hasForm(name):
            c.beginForm(name, 0, 0, s, s + 1)
            c.setFillColor(colors.HexColor(self.fill))
            c.setStrokeColor(GREY)
            c.setLineWidth(0.4)
            c.rect(0, 0.5, s, s, stroke=1, fill=1)
            draw_hatch(c, self.hatch, 0, 0.5, s, s, colors.HexColor(text_on(self.fill)))
            c.endForm()
        c.saveState()
        c.doForm(name)
        c.setFillColor(TEXT_COLOUR)
        font = FONT_BOLD if self.bold else FONT
        c.setFont(font, 8)
        c.drawString(s + 3, 2, fit(self.word, font, 8, self.width - s - 3))
        c.restoreState()


class Upright(Flowable):
    """A header label set bottom to top, for many narrow columns (the patchwork matrix): words
    stay whole instead of breaking mid-word across three lines."""

    def __init__(self, text: str, size: float = 7.0) -> None:
        super().__init__()
        self.text, self.size = text, size

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        return self.size * 1.3, pdfmetrics.stringWidth(self.text, FONT_BOLD, self.size) + 2

    def draw(self) -> None:
        c = self.canv
        c.saveState()
        c.setFont(FONT_BOLD, self.size)
        c.setFillColor(TEXT_COLOUR)
        c.rotate(90)
        # Rotated: x runs up the column, y runs left; centre the line in the cell.
        c.drawString(1, -(self.width + self.size * 0.7) / 2, self.text)
        c.restoreState()


def draw_hatch(c: Canvas, hatch: str, x: float, y: float, w: float, h: float, colour: Any) -> None:
    """matplotlib's hatch codes ("///" diagonal, "..." dots, "xx" crossed) inside a rectangle."""
    if not hatch:
        return
    c.saveState()
    path = c.beginPath()
    path.rect(x, y, w, h)
    c.clipPath(path, stroke=0, fill=0)
    c.setStrokeColor(colour)
    c.setFillColor(colour)
    c.setLineWidth(0.6)
    step = 3.0
    if "." in hatch:
        for i in range(int(w / step) + 1):
            for j in range(int(h / step) + 1):
                c.circle(x + 1.5 + i * step, y + 1.5 + j * step, 0.45, stroke=0, fill=1)
    else:
        k = -h
        while k < w:
            c.line(x + k, y, x + k + h, y + h)
            if "x" in hatch:
                c.line(x + k, y + h, x + k + h, y)
            k += step
    c.restoreState()


class Mark(Flowable):
    """Zero-size: records the page it lands on as the start of section `key` (for the contents)."""

    def __init__(self, key: str, pages: dict[str, int]) -> None:
        super().__init__()
        self.key, self.pages = key, pages

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return 0.0, 0.0

    def draw(self) -> None:
        page = self.canv.getPageNumber()
        self.pages.setdefault(self.key, page)
        doc = getattr(self.canv, "pack_doc", None)
        if doc is not None:
            doc.section = self.key
            doc.marked_pages.add(page)


class ContentsLine(Flowable):
    """One line of the contents list: the section's title, dot leaders and its first page.

    The page number is drawn when the document is saved (`PackCanvas`), once every section's
    `Mark` has been placed: one pass, no second build.
    """

    def __init__(self, title: str, key: str, pages: dict[str, int], size: float = 10.5) -> None:
        super().__init__()
        self.title, self.key, self.pages, self.size = title, key, pages, size

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        return availWidth, self.size * 1.9

    def draw(self) -> None:
        c, size, width = self.canv, self.size, self.width
        x0, y0 = c.absolutePosition(0, 4)
        pages, key, title = self.pages, self.key, self.title

        def line(canvas: Canvas, total: int) -> None:
            # All drawn at once, title then page, so text extraction reads "Gap table page 9".
            number = f"page {pages.get(key, '?')}"
            number_w = pdfmetrics.stringWidth(number, FONT, size)
            shown = fit(title, FONT, size, width - number_w - 20)
            canvas.saveState()
            canvas.setFont(FONT, size)
            canvas.setFillColor(TEXT_COLOUR)
            canvas.drawString(x0, y0, shown)
            canvas.drawRightString(x0 + width, y0, number)
            # Dot leaders as a dashed rule, not text: they stay out of the extracted text.
            canvas.setStrokeColor(colors.HexColor("#999999"))
            canvas.setLineWidth(0.8)
            canvas.setLineCap(1)
            canvas.setDash([0.1, 3])
            start = x0 + pdfmetrics.stringWidth(shown, FONT, size) + 6
            canvas.line(start, y0, x0 + width - number_w - 6, y0)
            canvas.restoreState()

        if isinstance(c, PackCanvas):
            c.defer(line)
        else:  # not through `build`: no page numbers to give
            line(c, 0)


class MapSlot(Flowable):
    """Reserves the frame for the map figures `indices` (laid under the page by `stamp_maps`)."""

    def __init__(self, indices: tuple[int, ...], slots: list[tuple[tuple[int, ...], int, Box]]) -> None:
        super().__init__()
        self.indices, self.slots = indices, slots

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width, self.height = availWidth, availHeight - 1
        return self.width, self.height

    def draw(self) -> None:
        x, y = self.canv.absolutePosition(0, 0)
        self.slots.append((self.indices, self.canv.getPageNumber(), (x, y, self.width, self.height)))


# --------------------------------------------------------------------------- tables


def table(
    header: Sequence[Any] | None,
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    fills: Sequence[tuple[int, int, str]] = (),
    bold_rows: Sequence[int] = (),
    align_right: Sequence[int] = (),
    groups: Sequence[tuple[int, int, str]] = (),
    centre: Sequence[int] = (),
    font_size: float = 8,
    valign: str = "MIDDLE",
) -> LongTable:
    """A table that splits across pages with its header row(s) repeated.

    `widths` are relative (scaled to the frame by `TableFrame`); `header` cells may be strings
    (escaped, wrapped) or flowables; `fills` are (row, column, colour) backgrounds of body
    cells (rows counted from the first body row); `groups` are (first, last, label) spanning
    labels over the header.
    """
    s = styles()
    head_rows: list[list[Any]] = []
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, font_size, font_size * 1.2),
        ("VALIGN", (0, 0), (-1, -1), valign),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if groups:
        group_row: list[Any] = [""] * len(widths)
        for first, last, label in groups:
            group_row[first] = Paragraph(f"<para alignment='center'>{esc(label)}</para>", s.head)
            commands += [("SPAN", (first, 0), (last, 0)), ("BACKGROUND", (first, 0), (last, 0), GROUP_FILL)]
        head_rows.append(group_row)
    head_style = s.head_small if font_size < 7.5 else s.head
    if header is not None:
        head_rows.append([h if isinstance(h, Flowable) else Paragraph(esc(h), head_style) for h in header])
    n_head = len(head_rows)
    if n_head:
        commands += [
            ("BACKGROUND", (0, n_head - 1), (-1, n_head - 1), HEAD_FILL),
            ("LINEBELOW", (0, n_head), (-1, -1), 0.4, RULE),
            ("VALIGN", (0, 0), (-1, n_head - 1), "BOTTOM"),
        ]
    for j in align_right:
        commands.append(("ALIGN", (j, n_head), (j, -1), "RIGHT"))
    for j in centre:
        commands.append(("ALIGN", (j, n_head), (j, -1), "CENTER"))
    for i in bold_rows:
        commands.append(("FONT", (0, n_head + i), (-1, n_head + i), FONT_BOLD, font_size, font_size * 1.2))
    for i, j, colour in fills:
        at = (j, n_head + i)
        commands.append(("BACKGROUND", at, at, _colour(colour)))
        if _light_text(colour):  # a dark fill: white bold text, as on the maps
            commands += [
                ("TEXTCOLOR", at, at, colors.white),
                ("FONT", at, at, FONT_BOLD, font_size, font_size * 1.2),
            ]
    data = [*head_rows, *[list(r) for r in rows]]
    t = TableFrame(data, widths, repeatRows=n_head)
    t.setStyle(TableStyle(commands))
    return t


@cache
def _colour(hex_colour: str) -> colors.Color:
    return colors.HexColor(hex_colour)


@cache
def _light_text(fill: str) -> bool:
    return text_on(fill) == "#ffffff"


class TableFrame(LongTable):
    """A LongTable whose relative column widths are scaled to the frame it is laid in.

    The parts a split makes are built by reportlab with absolute `colWidths` and keep them.
    """

    def __init__(self, data: list[list[Any]], widths: Sequence[float] | None = None, **kwargs: Any) -> None:
        self._relative = [float(w) for w in widths] if widths is not None else None
        if widths is not None:
            kwargs["colWidths"] = list(self._relative or [])
        super().__init__(data, **kwargs)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if self._relative is not None:
            total = sum(self._relative)
            want = [w / total * availWidth for w in self._relative]
            table: Any = self  # reportlab's attributes are untyped
            if want != table._colWidths:
                table._colWidths = table._argW = want
        return super().wrap(availWidth, availHeight)


def cell(text: Any, *, bold: bool = False, right: bool = False) -> Paragraph:
    """A wrapping table cell of user text (escaped)."""
    s = styles()
    style = s.cell_right if right else s.cell_bold if bold else s.cell
    return Paragraph(esc(text), style)


# --------------------------------------------------------------------------- the document


@dataclass
class Footer:
    """What every page's foot says: the selection, the year for the Crown copyright, the badge."""

    selection: str
    year: int
    is_demo: bool


class PackCanvas(Canvas):
    """A canvas that keeps every page until the end, then writes "Page n of N" on each and
    runs the drawings deferred to that page (the contents list's page numbers)."""

    pack_doc: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []
        self._deferred: dict[int, list[Callable[[Canvas, int], None]]] = {}

    def defer(self, draw: Callable[[Canvas, int], None]) -> None:
        """Run `draw(canvas, total_pages)` on the current page when the document is saved."""
        self._deferred.setdefault(self.getPageNumber(), []).append(draw)

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            page = self.getPageNumber()
            width = self._pagesize[0]
            self.setFont(FONT, 7.5)
            self.setFillColor(TEXT_COLOUR)
            self.drawCentredString(width / 2, 7 * mm, f"Page {page} of {total}")
            for draw in self._deferred.get(page, []):
                draw(self, total)
            Canvas.showPage(self)
        Canvas.save(self)


class PackDoc(BaseDocTemplate):
    """A4: "portrait" text pages, "landscape" pages for wide tables, "map" pages for figures."""

    def __init__(self, buf: io.BytesIO, footer: Footer, *, title: str) -> None:
        register_fonts()
        super().__init__(
            buf,
            pagesize=PORTRAIT,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN + FOOTER_H - 4 * mm,
            title=title,
            creator="gapmap",
            author="gapmap",
            pageCompression=1,
        )
        self.footer = footer
        self.section = ""
        self.marked_pages: set[int] = set()
        templates = []
        for name, size in (("portrait", PORTRAIT), ("landscape", LANDSCAPE), ("map", LANDSCAPE)):
            w, h = size
            bottom = 7 * mm + 9 if name == "map" else MARGIN + FOOTER_H - 4 * mm
            top = 4 * mm if name == "map" else MARGIN
            side = 6 * mm if name == "map" else MARGIN
            pads = {"leftPadding": 0, "rightPadding": 0, "topPadding": 0, "bottomPadding": 0}
            frame = Frame(side, bottom, w - 2 * side, h - top - bottom, id=name, **pads)
            templates.append(PageTemplate(id=name, frames=[frame], pagesize=size, onPageEnd=self._furniture))
        self.addPageTemplates(templates)

    def _furniture(self, canvas: Canvas, doc: Any) -> None:
        """The footer (copyright, selection, demo badge) and, on a page that continues a
        section, its name at the top."""
        w, h = canvas._pagesize
        f = self.footer
        page = canvas.getPageNumber()
        canvas.saveState()
        is_map = self.pageTemplate.id == "map"
        if page not in self.marked_pages and self.section and not is_map:
            canvas.setFont(FONT_ITALIC, 8)
            canvas.setFillColor(GREY)
            canvas.drawString(
                MARGIN, h - MARGIN + 8, fit(f"{self.section} (continued)", FONT_ITALIC, 8, w / 2)
            )
        left = 6 * mm if is_map else MARGIN
        canvas.setFont(FONT, 6.5)
        canvas.setFillColor(GREY)
        if not is_map:  # the map's own footer already carries the credits
            credit = f"{CROWN_COPYRIGHT.format(year=f.year)}. {ONS_ATTRIBUTION}"
            canvas.drawString(left, 7 * mm + 10, fit(credit, FONT, 6.5, w - 2 * left))
        badge_w = pdfmetrics.stringWidth(DEMO_BADGE, FONT_BOLD, 8) + 8 if f.is_demo else 0.0
        room = w / 2 - left - 50
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(TEXT_COLOUR)
        canvas.drawString(left, 7 * mm, fit(f.selection, FONT, 7.5, room))
        if f.is_demo:
            x = w - left - badge_w
            canvas.setStrokeColor(BADGE_RED)
            canvas.setFillColor(colors.white)
            canvas.setLineWidth(1.2)
            canvas.rect(x, 7 * mm - 3, badge_w, 11.5, stroke=1, fill=1)
            canvas.setFillColor(BADGE_RED)
            canvas.setFont(FONT_BOLD, 8)
            canvas.drawString(x + 4, 7 * mm, DEMO_BADGE)
        canvas.restoreState()


def build(story: list[Flowable], footer: Footer, *, title: str) -> bytes:
    """Set `story` into PDF bytes (one pass: page numbers and contents are drawn on saving)."""
    buf = io.BytesIO()
    doc = PackDoc(buf, footer, title=title)

    def canvasmaker(*args: Any, **kwargs: Any) -> PackCanvas:
        # The page's starting font is ours too: no standard (non-embedded) font on any page.
        canvas = PackCanvas(*args, **{**kwargs, "initialFontName": FONT, "initialFontSize": 9.5})
        canvas.pack_doc = doc
        return canvas

    doc.build(story, canvasmaker=canvasmaker)
    return buf.getvalue()


# --------------------------------------------------------------------------- maps under pages


@dataclass
class Maps:
    """The pack's map figures and where each page of them landed (filled by `MapSlot`)."""

    figures: list[Any] = field(default_factory=list)
    slots: list[tuple[tuple[int, ...], int, Box]] = field(default_factory=list)

    def add(self, figure: Any) -> int:
        """Keep `figure` (a matplotlib Figure) for the PDF; returns its index."""
        self.figures.append(figure)
        return len(self.figures) - 1

    def slot(self, figure: Any, *over: int) -> MapSlot:
        """Reserve a page for `figure`, with the figures `over` (e.g. a shared overlay) on top."""
        return MapSlot((self.add(figure), *over), self.slots)


def figures_pdf(figures: Sequence[Any]) -> bytes:
    """Every figure as one page of one vector PDF: fonts embedded once for all of them."""
    from matplotlib.backends.backend_pdf import PdfPages

    from gapmap.staticmap import plain_text

    buf = io.BytesIO()
    # Type 3 fonts: the maps' text stays searchable (pypdf and viewers read it), and the pack
    # skips fontTools' subsetting of each TrueType font (type 42: about a second for all of
    # England, the largest single cost of the pack). rc_context restores the setting.
    with matplotlib.rc_context({"pdf.fonttype": 3}), PdfPages(buf, metadata={"Creator": "gapmap"}) as pdf:
        for fig in figures:
            # "auto": the figure's own background (white; none for a shared overlay).
            pdf.savefig(plain_text(fig), facecolor="auto")
    return buf.getvalue()


def stamp_maps(document: bytes, maps: Maps) -> bytes:
    """Lay the map figures' pages under the pages their `MapSlot`s reserved, scaled to fit.

    Each figure page becomes one form XObject (a shared overlay is stored once however many
    pages use it), drawn before the page's own content so the footer stays on top. Content
    streams are copied as they are, never parsed: fast for maps of hundreds of areas.
    """
    if not maps.slots:
        return document
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(document)))
    source = PdfReader(io.BytesIO(figures_pdf(maps.figures)))
    forms: dict[int, Any] = {}
    for indices, page_no, (x, y, w, h) in maps.slots:
        page = writer.pages[page_no - 1]
        resources = page.setdefault(NameObject("/Resources"), DictionaryObject()).get_object()
        xobjects = resources.setdefault(NameObject("/XObject"), DictionaryObject()).get_object()
        ops = []
        for index in indices:
            if index not in forms:
                forms[index] = _form(writer, source.pages[index])
            ref, (sw, sh) = forms[index]
            scale = min(w / sw, h / sh)
            dx, dy = x + (w - sw * scale) / 2, y + (h - sh * scale) / 2
            name = NameObject(f"/GapmapMap{index}")
            xobjects[name] = ref
            ops.append(f"q {scale:.6f} 0 0 {scale:.6f} {dx:.3f} {dy:.3f} cm {name} Do Q")
        under = DecodedStreamObject()
        under.set_data(("\n".join(ops) + "\n").encode())
        existing: Any = page["/Contents"]
        parts = list(existing.get_object()) if isinstance(existing.get_object(), ArrayObject) else [existing]
        page[NameObject("/Contents")] = ArrayObject([writer._add_object(under), *parts])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _form(writer: Any, src: Any) -> tuple[Any, tuple[float, float]]:
    """`src` (a page of another PDF) as a form XObject in `writer`: (its reference, its size)."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, FloatObject, NameObject

    box = src.mediabox
    sw, sh = float(box.width), float(box.height)
    contents = src["/Contents"].get_object()
    if isinstance(contents, ArrayObject):  # several content streams: join them (matplotlib writes one)
        form = DecodedStreamObject()
        form.set_data(b"\n".join(c.get_object().get_data() for c in contents))
    else:
        form = contents.clone(writer)
    form[NameObject("/Type")] = NameObject("/XObject")
    form[NameObject("/Subtype")] = NameObject("/Form")
    form[NameObject("/BBox")] = ArrayObject([FloatObject(v) for v in (0, 0, sw, sh)])
    form[NameObject("/Resources")] = src["/Resources"].get_object().clone(writer)
    ref = form.indirect_reference if form.indirect_reference is not None else writer._add_object(form)
    return ref, (sw, sh)


__all__ = [
    "FONT",
    "FONT_BOLD",
    "LANDSCAPE",
    "PORTRAIT",
    "ContentsLine",
    "Footer",
    "Maps",
    "Mark",
    "StatusCell",
    "build",
    "bullet",
    "cell",
    "esc",
    "new_page",
    "p",
    "pm",
    "stamp_maps",
    "styles",
    "table",
]
