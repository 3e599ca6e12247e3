"""The parser's view of a document: visual lines of positioned fragments across pages, plus label search."""
from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass

from worker.po.textlayer import ExtractedPdf, Fragment


@dataclass(slots=True)
class Line:
    """A visual line: page number, index in the document, and fragments left to right."""

    page: int
    idx: int
    frags: list[Fragment]

    @property
    def y(self) -> float:
        return self.frags[0].y

    @property
    def size(self) -> float:
        return max(f.size for f in self.frags)

    @property
    def text(self) -> str:
        return "  ".join(f.text for f in self.frags)


def doc_lines(pdf: ExtractedPdf) -> list[Line]:
    """Flatten pages into one list of lines in reading order."""
    out: list[Line] = []
    for p, page in enumerate(pdf.pages):
        for frags in page.lines:
            if frags:
                out.append(Line(p, len(out), list(frags)))
    return out


def overlaps(a: Fragment, b: Fragment, slack: float = 4.0) -> bool:
    """True when two fragments share some horizontal extent."""
    return a.x0 - slack < b.x1 and b.x0 - slack < a.x1


@dataclass(slots=True)
class LabelHit:
    """A label found at the start of a fragment, with the text that follows it in the same fragment."""

    line: Line
    frag: Fragment
    rest: str
    label: str


_PART = re.compile(r"\s[/|–-]\s+")  # "Facturer à / Bill To", "ORDER REQUEST - Order # 7709"


def label_starts(text: str) -> list[int]:
    """Where a label may begin in a fragment: its start, and after ' / ' or ' - ' (bilingual pairs, titles)."""
    return [0] + [m.end() for m in _PART.finditer(text)]


def find_labels(lines: list[Line], pattern: re.Pattern[str]) -> list[LabelHit]:
    """Fragments that start with a label matching pattern (case-insensitive, anchored)."""
    hits = []
    for ln in lines:
        for f in ln.frags:
            for pos in label_starts(f.text):
                if m := pattern.match(f.text[pos:]):
                    rest = f.text[pos + m.end():].strip().lstrip(":#.-–").strip()
                    hits.append(LabelHit(ln, f, rest, m.group(0)))
                    break
    return hits


class Heights:
    """A list of lines indexed by page and height, to find the lines within a distance below or above one by
    bisection: a scan of every line for every label was quadratic (a hostile page of thousands of labels, minutes).
    The lines found are exactly those the scan found, in list order."""

    def __init__(self, lines: list[Line]):
        pages: dict[int, list[tuple[float, int]]] = defaultdict(list)
        for pos, ln in enumerate(lines):
            if not math.isnan(ln.y):  # no distance to NaN is within any reach
                pages[ln.page].append((ln.y, pos))
        self.lines = lines
        self._ys: dict[int, list[float]] = {}
        self._pos: dict[int, list[int]] = {}
        for page, found in pages.items():
            found.sort()
            self._ys[page], self._pos[page] = [y for y, _ in found], [pos for _, pos in found]

    def below(self, ln: Line, reach: float) -> list[Line]:
        """Lines of ln's page with 0 < ln.y - y <= reach."""
        y0 = ln.y
        if not (math.isfinite(y0) and math.isfinite(reach)):  # differences would not be monotone: scan
            return [a for a in self.lines if a.page == ln.page and 0 < y0 - a.y <= reach]
        ys = self._ys.get(ln.page, [])
        # Ascending heights: y0 - y falls, so each test flips once (False, then True) and bisects exactly.
        lo = bisect_left(ys, True, key=lambda y: y0 - y <= reach)
        hi = bisect_left(ys, True, key=lambda y: not y0 - y > 0)
        return [self.lines[p] for p in sorted(self._pos[ln.page][lo:hi])] if lo < hi else []

    def above(self, ln: Line, reach: float) -> list[Line]:
        """Lines of ln's page with 0 < y - ln.y <= reach."""
        y0 = ln.y
        if not (math.isfinite(y0) and math.isfinite(reach)):
            return [a for a in self.lines if a.page == ln.page and 0 < a.y - y0 <= reach]
        ys = self._ys.get(ln.page, [])
        lo = bisect_left(ys, True, key=lambda y: y - y0 > 0)
        hi = bisect_left(ys, True, key=lambda y: not y - y0 <= reach)
        return [self.lines[p] for p in sorted(self._pos[ln.page][lo:hi])] if lo < hi else []


def values_near(hit: LabelHit, lines: Heights, below_mark: re.Pattern[str] | None = None) -> list[str]:
    """Candidate values for a label: rest of its fragment, the fragment to its right, then the one below.

    With below_mark, a fragment below counts only when it starts with that mark, and is given without it.
    """
    out = []
    if hit.rest:
        out.append(hit.rest)
    right = [f for f in hit.line.frags if f.x0 > hit.frag.x1 - 1]
    if right and right[0].x0 - hit.frag.x1 < 160:
        out.append(right[0].text)
    for ln in lines.below(hit.line, 2.6 * hit.line.size)[:2]:
        for f in ln.frags:
            if not overlaps(f, hit.frag):
                continue
            if below_mark is None:
                out.append(f.text)
            elif m := below_mark.match(f.text):
                out.append(f.text[m.end():])
    return out
