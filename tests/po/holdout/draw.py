"""Thin drawing helpers over reportlab and fpdf2 so layouts read top-down in points from the top-left."""
from __future__ import annotations

import io

from fpdf import FPDF
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas


class RL:
    """reportlab canvas with y measured from the top of a US-letter page."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.c = canvas.Canvas(self.buf, pagesize=letter)
        self.h = letter[1]

    def t(self, x: float, y: float, s: str, font: str = "Helvetica", size: float = 9, align: str = "l") -> None:
        """Draw text left-aligned at x, right-aligned ending at x ('r') or centred on x ('c')."""
        self.c.setFont(font, size)
        draw = {"l": self.c.drawString, "r": self.c.drawRightString, "c": self.c.drawCentredString}[align]
        draw(x, self.h - y, s)

    def line(self, x0: float, y0: float, x1: float, y1: float, width: float = 0.6) -> None:
        """A ruled line."""
        self.c.setLineWidth(width)
        self.c.line(x0, self.h - y0, x1, self.h - y1)

    def box(self, x: float, y: float, w: float, h: float, fill: float | None = None) -> None:
        """A rectangle with its top-left corner at (x, y); fill is a grey level."""
        if fill is not None:
            self.c.setFillGray(fill)
        self.c.rect(x, self.h - y - h, w, h, stroke=1, fill=1 if fill is not None else 0)
        self.c.setFillGray(0)

    def page(self) -> None:
        """Start a new page."""
        self.c.showPage()

    def done(self) -> bytes:
        """Finish and return the PDF bytes."""
        self.c.save()
        return self.buf.getvalue()


class FP(FPDF):
    """fpdf2 document in points on US letter, with a positioned-text helper."""

    def __init__(self) -> None:
        super().__init__(unit="pt", format="letter")
        self.set_auto_page_break(False)
        self.set_margins(36, 36, 36)
        self.add_page()

    def t(self, x: float, y: float, s: str, font: str = "Helvetica", size: float = 9, style: str = "",
          align: str = "l", w: float = 0) -> None:
        """Draw text with its baseline at y; 'r' right-aligns so it ends at x, 'c' centres on x."""
        self.set_font(font, style, size)
        sw = self.get_string_width(s)
        x = x - sw if align == "r" else x - sw / 2 if align == "c" else x
        self.text(x, y, s)

    def cellrow(self, x: float, y: float, cells: list[tuple[float, str, str]], h: float = 14,
                font: str = "Helvetica", size: float = 8, style: str = "", border: int = 1) -> None:
        """A row of bordered cells: (width, text, align L/R/C) from x at top y."""
        self.set_font(font, style, size)
        self.set_xy(x, y)
        for w, s, a in cells:
            self.cell(w, h, s, border=border, align=a, new_x="RIGHT", new_y="TOP")

    def done(self) -> bytes:
        """Return the PDF bytes."""
        return bytes(self.output())
