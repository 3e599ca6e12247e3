"""Positioned text fragments from a PDF's text layer (runs inside the sandboxed extraction process)."""
from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_RUN_OF_SPACES = re.compile(r"\S+(?: \S+)*")  # words joined by single spaces; 2+ spaces split columns
MAX_FORM_DEPTH = 8  # Form XObjects drawn inside Form XObjects
MAX_FORM_USES = 200  # per page: a form drawn many times inside one drawn many times multiplies


@dataclass(frozen=True, slots=True)
class Fragment:
    """A run of text on one line: x0/x1 in points from the left edge, y in points up from the bottom."""

    x0: float
    x1: float
    y: float
    text: str
    size: float = 10.0


@dataclass(slots=True)
class PageText:
    """One page's text as lines (top to bottom) of fragments (left to right)."""

    lines: list[list[Fragment]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Fixed-width rendering of the page, columns kept roughly in place (for humans and debugging)."""
        out = []
        for line in self.lines:
            s = ""
            for f in line:
                col = int(f.x0 / 4.5)  # ~4.5pt per character at 9-10pt type
                s += " " * max(col - len(s), 1 if s else 0) + f.text
            out.append(s)
        return "\n".join(out)


@dataclass(slots=True)
class ExtractedPdf:
    """Text layer of a PDF: pages of positioned fragments; has_text False means a scanned image."""

    pages: list[PageText]
    page_count: int
    has_text: bool

    @property
    def page_texts(self) -> list[str]:
        """Layout-preserving text of each page."""
        return [p.text for p in self.pages]

    @property
    def text(self) -> str:
        """All pages' layout text separated by form feeds."""
        return "\f".join(self.page_texts)


def _split_runs(x0: float, x1: float, y: float, text: str, size: float) -> list[Fragment]:
    # One show-text operator may hold several columns separated by runs of spaces.
    if not text.strip():
        return []
    cw = (x1 - x0) / max(len(text), 1)
    return [Fragment(x0 + m.start() * cw, x0 + m.end() * cw, y, m.group(), size)
            for m in _RUN_OF_SPACES.finditer(text)]


@dataclass(slots=True)
class _Forms:
    """What drawing one page's Form XObjects may still spend, and the forms being drawn (a cycle guard)."""

    fonts: dict[str, Any]  # the page's layout-mode fonts, plus each form's own under a key of its own
    pdf: Any
    uses: int = 0
    drawing: set[int] = field(default_factory=set)


def _form_named(resources: Any, operands: list[Any]) -> Any:
    # The Form XObject a Do operator draws, or None (an image, a missing or broken entry).
    from pypdf.generic import DictionaryObject, StreamObject

    xobjects = resources.get("/XObject") if isinstance(resources, DictionaryObject) and operands else None
    xobjects = xobjects.get_object() if xobjects is not None else None
    xobj = xobjects.get(operands[0]) if isinstance(xobjects, DictionaryObject) else None
    xobj = xobj.get_object() if xobj is not None else None
    return xobj if isinstance(xobj, StreamObject) and xobj.get("/Subtype") == "/Form" else None


def _form_fonts(resources: Any, forms: _Forms, key: int) -> dict[Any, str]:
    # A form's fonts may reuse the page's names (/F1) for other fonts: each is registered under its own key.
    from pypdf.generic import DictionaryObject
    from pypdf.generic._font import Font

    fonts = resources.get("/Font")
    fonts = fonts.get_object() if fonts is not None else None
    renamed: dict[Any, str] = {}
    for name, ref in (fonts.items() if isinstance(fonts, DictionaryObject) else ()):
        font = ref.get_object()
        if isinstance(font, DictionaryObject):
            renamed[name] = f"{key}:{name}"  # real names start with "/": no clash
            forms.fonts[renamed[name]] = Font.from_font_resource(font)
    return renamed


def _drawn(ops: Iterator[tuple[list[Any], bytes]], resources: Any, renamed: dict[Any, str],
           forms: _Forms) -> Iterator[tuple[list[Any], bytes]]:
    """The operators with each Form XObject drawn (Do) replaced by its own, so text inside forms is read."""
    for operands, op in ops:
        if op == b"Tf" and operands and operands[0] in renamed:
            operands = [renamed[operands[0]], *operands[1:]]
        elif op == b"Do" and (form := _form_named(resources, operands)) is not None:
            yield from _form_ops(form, resources, renamed, forms)
            continue
        yield operands, op


def _form_ops(form: Any, resources: Any, renamed: dict[Any, str], forms: _Forms) -> Iterator[tuple[list[Any], bytes]]:
    # A form is drawn as q, its /Matrix, its operators, Q; inside it, its own /Resources (else the caller's).
    from pypdf.generic import ArrayObject, ContentStream, DictionaryObject

    key = id(form)  # pypdf resolves an indirect object once, so a form reached twice is the same object
    if key in forms.drawing or len(forms.drawing) >= MAX_FORM_DEPTH or forms.uses >= MAX_FORM_USES:
        return
    forms.uses += 1
    own = form.get("/Resources")
    own = own.get_object() if own is not None else None
    try:
        ops = ContentStream(form, forms.pdf, "bytes").operations
        if isinstance(own, DictionaryObject):
            resources, renamed = own, _form_fonts(own, forms, key)
    except MemoryError:
        raise  # the sandbox reports it and replaces the worker
    except Exception:  # a broken form loses its own text, as a broken image would, not the page's
        return
    matrix = form.get("/Matrix")
    matrix = matrix.get_object() if matrix is not None else None
    forms.drawing.add(key)
    try:
        yield [], b"q"
        if isinstance(matrix, ArrayObject) and len(matrix) == 6 and all(isinstance(v, (int, float)) for v in matrix):
            yield list(matrix), b"cm"
        yield from _drawn(iter(ops), resources, renamed, forms)
        yield [], b"Q"
    finally:
        forms.drawing.discard(key)


def _tj_fragments(page) -> list[Fragment]:
    # pypdf's layout-mode internals expose each text-show op with its start and end x, which the
    # public visitor API does not; the fallback below keeps us working if they move.
    from pypdf._text_extraction import _layout_mode as lm
    from pypdf._text_extraction._layout_mode._fixed_width_page import recurse_to_target_op
    from pypdf._text_extraction._layout_mode._text_state_manager import TextStateManager
    from pypdf.generic import ArrayObject, ContentStream, StreamObject

    contents = page.get("/Contents")
    contents = contents.get_object() if contents is not None else None
    if not isinstance(contents, (ArrayObject, StreamObject)):
        return []
    fonts = page._layout_mode_fonts()
    resources = page.get("/Resources")
    forms = _Forms(fonts, page.pdf)
    ops = _drawn(iter(ContentStream(contents, page.pdf, "bytes").operations),
                 resources.get_object() if resources is not None else None, {}, forms)
    state = TextStateManager()
    tjs = []
    for operands, op in ops:
        if op in (b"BT", b"q"):
            _, found = recurse_to_target_op(ops, state, b"ET" if op == b"BT" else b"Q", fonts, True)
            tjs.extend(found)
        elif op == b"Tf":
            lm.set_font_operation(state, fonts, operands)
        else:
            state.set_state_param(op, operands)
    frags: list[Fragment] = []
    for tj in tjs:
        if tj.rotated or not tj.font.interpretable:
            continue
        size = abs(tj.font_height) or abs(tj.font_size) or 10.0
        frags += _split_runs(tj.tx, tj.displaced_tx, tj.ty, tj.text, size)
    return frags


def _fallback_fragments(page) -> list[Fragment]:
    text = page.extract_text(extraction_mode="layout")
    frags: list[Fragment] = []
    for i, line in enumerate(text.splitlines()):
        frags += _split_runs(0.0, len(line) * 4.5, 800.0 - 12 * i, line, 10.0)
    return frags


def _merge_line(frags: list[Fragment]) -> list[Fragment]:
    # Kerned or per-word show operators arrive in pieces; join pieces closer than ~1.5 spaces (0.4 em).
    frags.sort(key=lambda f: f.x0)
    out: list[Fragment] = []
    for f in frags:
        if out and f.x0 - out[-1].x1 < 0.4 * min(f.size, out[-1].size):
            p = out[-1]
            sep = " " if f.x0 - p.x1 > 0.12 * f.size else ""
            out[-1] = Fragment(p.x0, max(p.x1, f.x1), p.y, p.text + sep + f.text, p.size)
        else:
            out.append(f)
    return out


def group_lines(frags: list[Fragment]) -> list[list[Fragment]]:
    """Group fragments into visual lines, top of page first."""
    lines: list[list[Fragment]] = []
    for f in sorted(frags, key=lambda f: -f.y):
        if lines and abs(lines[-1][0].y - f.y) <= 0.4 * min(f.size, lines[-1][0].size):
            lines[-1].append(f)
        else:
            lines.append([f])
    return [_merge_line(ln) for ln in lines]


def page_text(page) -> PageText:
    """Positioned text of one pypdf page."""
    try:
        frags = _tj_fragments(page)
    except (ImportError, AttributeError):
        frags = _fallback_fragments(page)
    return PageText(group_lines(frags))


def extract_pdf(data: bytes, max_pages: int) -> ExtractedPdf:
    """Parse PDF bytes with pypdf; raises ValueError(reason) for documents we refuse."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")  # owner-password-only PDFs open with an empty user password
        except Exception as exc:  # unsupported algorithm, missing crypto dependency
            raise ValueError(f"encrypted PDF ({exc})") from exc
        if not ok:
            raise ValueError("encrypted PDF")
    n = len(reader.pages)
    if n > max_pages:
        raise ValueError(f"too many pages ({n} > {max_pages})")
    pages = [page_text(p) for p in reader.pages]
    return ExtractedPdf(pages, n, any(p.lines for p in pages))
