"""Hold-out purchase-order layouts, written without looking at the parser's own fixtures.

build(name, seed) -> (pdf bytes, expected PurchaseOrder); both come from the same seeded Order, so the
expectation can never drift from what the PDF prints.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from tests.po.holdout import layouts_blind, layouts_erp, layouts_inst, layouts_intl, layouts_misc
from worker.po.model import PurchaseOrder

Builder = Callable[[random.Random], tuple[bytes, PurchaseOrder]]

LAYOUTS: dict[str, Builder] = {
    "sap_erp": layouts_erp.sap_erp,
    "netsuite": layouts_erp.netsuite,
    "quickbooks": layouts_erp.quickbooks,
    "school_district": layouts_inst.school_district,
    "hospital": layouts_inst.hospital,
    "three_page": layouts_inst.three_page,
    "canada": layouts_intl.canada,
    "eu_vat": layouts_intl.eu_vat,
    "uk_vat": layouts_intl.uk_vat,
    "order_guide": layouts_misc.order_guide,
    "boxed_form": layouts_misc.boxed_form,
    "plain_typed": layouts_misc.plain_typed,
    "dollar_cells": layouts_misc.dollar_cells,
    "embedded_code": layouts_misc.embedded_code,
}
# Set B was written after the parser had been improved against the layouts above, and scored once, blind.
BLIND: dict[str, Builder] = {
    "oracle": layouts_blind.oracle,
    "request_form": layouts_blind.request_form,
    "requisition": layouts_blind.requisition,
    "banquet": layouts_blind.banquet,
    "quebec": layouts_blind.quebec,
    "stacked_header": layouts_blind.stacked_header,
}
SEEDS = (1, 2, 3, 4)


def build(name: str, seed: int) -> tuple[bytes, PurchaseOrder]:
    """One document of a layout: its PDF bytes and the PurchaseOrder it must parse to."""
    # The layout name is part of the seed so layouts drawing the same seed still differ in data.
    return (LAYOUTS | BLIND)[name](random.Random(f"{name}:{seed}"))


def documents(seeds: tuple[int, ...] = SEEDS, names: list[str] | None = None
              ) -> Iterator[tuple[str, int, bytes, PurchaseOrder]]:
    """Every hold-out document of the named layouts (default: set A): (layout, seed, pdf, expected)."""
    for name in names or list(LAYOUTS):
        for seed in seeds:
            pdf, exp = build(name, seed)
            yield name, seed, pdf, exp
