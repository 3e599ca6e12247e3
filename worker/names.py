"""Company-name normalization, shared by customer matching, synonyms import and customer search.

"Driscoll", "Driscoll Foods" and "DRISCOLL FOODS INC." must meet: case, accents, punctuation,
'&'/'and' and legal suffixes (Inc, LLC, Co, Corp, Ltd, ...) are folded away; letters of other scripts stay.

name_synonyms and customers.name_key store normalized names: a change here needs a migration that renormalizes
the synonyms (worker/migrations.py registers normalize_name for that, as in version 8) and sets every name_key to
NULL (computed again when next read: worker/decisions.py same_name_customers).
"""

from __future__ import annotations

import re
import unicodedata

LEGAL_SUFFIXES = frozenset({
    "inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "co", "company", "corp", "corporation",
    "plc", "gmbh", "ag", "kg", "sa", "sas", "sarl", "bv", "nv", "bvba", "pty", "pc", "the",
    "aps", "as", "asa", "ab", "oy", "oyj", "spa", "srl", "sl", "sro",  # Nordic, Italian, Spanish, Czech
})
_NON_WORD = re.compile(r"[\W_]+")  # letters and digits of any script make words (ASCII: [^a-z0-9] once lower-cased)
# Single letters joined by dots or a slash are one word: "S.p.A." is "spa", "A/S" is "as", "S.A." is "sa".
_ABBREVIATION = re.compile(r"\b[a-z](?:[./][a-z])+\b")
# Letters that NFKD does not decompose into a base letter and an accent, so ASCII-folding would drop them
# ("Søren" -> "sren"): spelled as their readers type them without the key.
_WHOLE_LETTERS = str.maketrans({"ß": "ss", "ẞ": "ss", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "æ": "ae", "Æ": "ae",
                                "œ": "oe", "Œ": "oe", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th",
                                "ı": "i", "ħ": "h", "Ħ": "h"})


def _fold(char: str) -> str:
    """A character as names compare it: Latin letters without their accents (é -> e, ﬁ -> fi), other symbols
    away, and a letter or digit of another script as it is ("金", "Ж"), where ASCII-folding left nothing."""
    folded = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return folded if folded or not char.isalnum() else char


def normalize_name(name: str | None) -> str:
    """Case-folded words without accents, punctuation or legal suffixes, single-spaced ('' for nothing).

    Latin names come out as ASCII; letters of other scripts are kept ("Golden Dragon 金龍" is "golden dragon
    金龍"; they used to be dropped, so a search for 金龍 found nothing)."""
    if not name:
        return ""
    text = unicodedata.normalize("NFC", name.translate(_WHOLE_LETTERS))
    if not text.isascii():  # ASCII folds to itself: search keys every live customer's name on each query
        text = "".join(map(_fold, text))
    text = text.casefold()
    text = text.replace("&", " and ").replace("'", "")
    text = _ABBREVIATION.sub(lambda m: _NON_WORD.sub("", m.group()), text)
    words = [w for w in _NON_WORD.split(text) if w]
    while words and (words[-1] in LEGAL_SUFFIXES or words[-1] == "and"):  # "Smith & Co." is "smith"
        words.pop()
    while words and words[0] == "the":
        words.pop(0)
    return " ".join(words)


def name_variants(name: str | None) -> list[str]:
    """The normalized name and its leading-word prefixes ('driscoll foods' -> also 'driscoll')."""
    normalized = normalize_name(name)
    words = normalized.split()
    return [" ".join(words[:n]) for n in range(len(words), 0, -1)]


def email_domain(address: str | None) -> str:
    """The lower-cased domain of an email address ('' if there is none)."""
    if not address or "@" not in address:
        return ""
    return address.rsplit("@", 1)[1].strip().strip(">").lower()
