"""Hand-made hostile PDFs: page-tree loops, decompression bombs, deep nesting, encryption, truncation."""
from __future__ import annotations

import io
import zlib

from pypdf import PdfWriter


def raw_pdf(objects: list[bytes]) -> bytes:
    """Assemble numbered objects into a PDF with a correct xref table (object 1 is the catalog)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def page_tree_loop() -> bytes:
    """Pages node whose kid points back at itself."""
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"])


def bomb(megabytes: int = 1500) -> bytes:
    """A content stream that inflates from about 1.5 MB to `megabytes` MB of spaces."""
    z = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    data = b"".join(z.compress(chunk) for _ in range(megabytes)) + z.flush()
    content = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                    b"/Resources << /Font << /F1 5 0 R >> >> >>", content,
                    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"])


def deep_nesting(depth: int = 100_000) -> bytes:
    """An array nested far deeper than any parser's recursion limit."""
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"[" * depth + b"]" * depth + b" >>",
                    b"<< /Type /Pages /Kids [] /Count 0 >>"])


def many_pages(n: int) -> bytes:
    """A blank document with n pages."""
    w = PdfWriter()
    for _ in range(n):
        w.add_blank_page(612, 792)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def encrypted(pdf: bytes, user_password: str = "s3cret") -> bytes:
    """The given PDF encrypted with a user password (AES-256)."""
    from pypdf import PdfReader

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    w.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-256")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()
