"""schemathesis hooks: how to generate a raw email (`message/rfc822`, POST /api/inbound-email's body).

schemathesis has no serializer for that media type and stops with "Serialization not possible"; this strategy
gives it bytes to send as they are: a plain message with generated subject and text, or arbitrary bytes.
Loaded by the schemathesis CLI through schemathesis.toml at the repository root (`hooks`).
"""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

_HEADER_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=80)


def _message(subject: str, body: str, number: int) -> bytes:
    head = (f"From: Buyer <buyer@example.com>\r\nTo: orders@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{number}@schemathesis.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
    return (head + body).encode("utf-8", "surrogatepass")


RAW_EMAIL = st.one_of(
    st.builds(_message, _HEADER_TEXT, st.text(max_size=2000), st.integers(min_value=0)),
    st.binary(max_size=4096),
)
schemathesis.openapi.media_type("message/rfc822", RAW_EMAIL)
