"""worker/names.py: company names folded so that the spellings people type meet the ones NetSuite holds."""

import pytest

from worker.names import name_variants, normalize_name


@pytest.mark.parametrize(("name", "normalized"), [
    ("DRISCOLL FOODS INC.", "driscoll foods"),
    ("The Driscoll Company", "driscoll"),
    ("Ben & Jerry's", "ben and jerrys"),
    ("Smith & Co.", "smith"),  # "& Co" is a legal suffix too: "Smith" and "Smith & Co." meet
    ("Café Crème", "cafe creme"),
    # letters NFKD keeps whole were dropped ("sren"); they are spelled as typed without the key
    ("Søren Smørrebrød ApS", "soren smorrebrod"),
    ("Nordisk Fisk A/S", "nordisk fisk"), ("Pasta Fresca S.p.A.", "pasta fresca"), ("Leche S.A.", "leche"),
    ("Kala Oy", "kala"), ("Sill AB", "sill"), ("Conservas S.L.", "conservas"),
    ("J.R. Simplot Co", "jr simplot"),  # initials are one word, as they are typed ("JR Simplot")
    ("Łódź Foods", "lodz foods"),
    ("Straße Deli GmbH", "strasse deli"),
    ("Æble Œuvre", "aeble oeuvre"),
    ("한국마트", "한국마트"),  # letters of other scripts are kept, case-folded (they were dropped)
    ("Golden Dragon 金龍", "golden dragon 金龍"), ("Ромашка Trading LLC", "ромашка trading"),
    ("O’Brien Foods", "obrien foods"), ("ＡＢＣ Foods", "abc foods"), ("e\u0301clair", "eclair"),
    (None, ""),
])
def test_normalize_name(name, normalized):
    assert normalize_name(name) == normalized


def test_name_variants_are_leading_word_prefixes():
    assert name_variants("Søren Smørrebrød ApS") == ["soren smorrebrod", "soren"]
