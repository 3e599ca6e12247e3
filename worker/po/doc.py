"""The parser's view of a document: visual lines of positioned fragments across pages, plus label search."""
from __future__ import annotations

import re
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


def values_near(hit: LabelHit, lines: list[Line], below_mark: re.Pattern[str] | None = None) -> list[str]:
    """Candidate values for a label: rest of its fragment, the fragment to its right, then the one below.

    With below_mark, a fragment below counts only when it starts with that mark, and is given without it.
    """
    out = []
    if hit.rest:
        out.append(hit.rest)
    right = [f for f in hit.line.frags if f.x0 > hit.frag.x1 - 1]
    if right and right[0].x0 - hit.frag.x1 < 160:
        out.append(right[0].text)
    below = [ln for ln in lines if ln.page == hit.line.page and 0 < hit.line.y - ln.y <= 2.6 * hit.line.size]
    for ln in below[:2]:
        for f in ln.frags:
            if not overlaps(f, hit.frag):
                continue
            if below_mark is None:
                out.append(f.text)
            elif m := below_mark.match(f.text):
                out.append(f.text[m.end():])
    return out
