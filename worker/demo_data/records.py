"""NetSuite REST-shaped records for the demo year (modelled on ../shared/corpora/netsuite/*.json).

Only shapes live here: every number and date is decided by worker/demo_data/year.py.
"""

from __future__ import annotations

from typing import Any

SUBSIDIARY = {"id": "1", "refName": "GFS Foodservice"}
CURRENCY = {"id": "1", "refName": "USA"}
TERMS = {15: ("1", "Net 15"), 30: ("2", "Net 30"), 45: ("3", "Net 45")}
DISCOUNT_TERMS = ("5", "1% 10 Net 30")  # 1% off when paid within 10 days of the invoice date, else due in 30
SO_STATUS = {"pending": ("B", "Pending Fulfillment"), "billed": ("G", "Billed"), "cancelled": ("C", "Cancelled")}
SEGMENTS = {"regional chain": "1", "restaurant": "2", "caterer": "3", "school": "4", "institution": "5", "club": "6"}
INVOICE_STATUS = {"open": ("A", "Open"), "paid": ("B", "Paid In Full")}


def ref(ns_id: str, name: str) -> dict[str, str]:
    """A NetSuite reference field."""
    return {"id": ns_id, "refName": name}


def terms(days: int, discount: bool = False) -> dict[str, str]:
    """The terms select field for N days (with the early-payment discount: 1% 10 Net 30)."""
    ns_id, name = DISCOUNT_TERMS if discount and days == 30 else TERMS[days]
    return ref(ns_id, name)


def _links(kind: str, ns_id: str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": f"https://gfs.suitetalk.api.netsuite.com/services/rest/record/v1/{kind}/{ns_id}"}]


def customer(c: Any, created: str, modified: str, phone: str, discount: bool = False,
             parent: Any = None) -> dict[str, Any]:
    """A customer record (a subcustomer names its `parent`, as NetSuite does)."""
    record = {"links": _links("customer", c.ns_id), "id": c.ns_id, "entityId": f"CUST{c.ns_id}",
              "companyName": c.company, "isPerson": False, "email": f"ap@{c.domain}", "phone": phone,
              "terms": terms(c.terms_days, discount), "creditLimit": float(round(c.scale * 25000, -3)),
              "category": ref(SEGMENTS.get(c.segment, "9"), c.segment.title()), "isInactive": False,
              "subsidiary": SUBSIDIARY, "currency": CURRENCY, "dateCreated": created, "lastModifiedDate": modified}
    if parent is not None:
        record["parent"] = ref(parent.ns_id, parent.company)
    return record


def contact(ns_id: str, c: Any, first: str, last: str, title: str, inactive: bool, created: str,
            modified: str, phone: str) -> dict[str, Any]:
    """A contact record attached to a customer."""
    email = f"{first[0].lower()}{last.lower()}@{c.domain}"
    return {"links": _links("contact", ns_id), "id": ns_id, "entityId": f"{first} {last}", "firstName": first,
            "lastName": last, "email": email, "phone": phone, "title": title, "company": ref(c.ns_id, c.company),
            "isInactive": inactive, "subsidiary": SUBSIDIARY, "dateCreated": created, "lastModifiedDate": modified}


def item_lines(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The item sublist of a transaction."""
    return {"items": [{"line": n, "item": ref(l["item_id"], l["code"]), "description": l["description"],
                       "quantity": l["quantity"], "units": l["uom"], "rate": l["rate"], "amount": l["amount"]}
                      for n, l in enumerate(lines, start=1)]}


def sales_order(o: Any, status: str, modified: str) -> dict[str, Any]:
    """A sales order in one of its states."""
    code, name = SO_STATUS[status]
    return {"links": _links("salesOrder", o.ns_id), "id": o.ns_id, "tranId": o.tran_id, "tranDate": o.tran_date,
            "shipDate": o.ship_date, "entity": ref(o.customer.ns_id, o.customer.company),
            "otherRefNum": o.po_number, "terms": terms(o.terms_days, o.discount), "custbody_freight_terms": o.freight,
            "status": ref(code, name), "currency": CURRENCY, "subtotal": o.total, "total": o.total,
            "item": item_lines(o.lines), "subsidiary": SUBSIDIARY, "lastModifiedDate": modified}


def fulfillment(o: Any, shipped: bool, modified: str) -> dict[str, Any]:
    """The item fulfillment of an order, packed or shipped (with its packages)."""
    record = {"links": _links("itemFulfillment", o.fulfillment_id), "id": o.fulfillment_id,
              "tranId": f"IF{o.fulfillment_id}", "tranDate": o.ship_date,
              "entity": ref(o.customer.ns_id, o.customer.company), "createdFrom": ref(o.ns_id, o.tran_id),
              "shipStatus": ref("C", "Shipped") if shipped else ref("B", "Packed"),
              "item": {"items": [{"line": n, "item": ref(l["item_id"], l["code"]), "description": l["description"],
                                  "quantity": l["quantity"], "orderLine": n}
                                 for n, l in enumerate(o.lines, start=1)]},
              "lastModifiedDate": modified}
    if shipped:
        record["shipMethod"] = ref("4", o.carrier)
        record["packageList"] = {"packages": [{"packageTrackingNumber": t, "packageWeight": w,
                                               "packageDescr": f"Pallet {n}", "carrier": o.carrier}
                                              for n, (t, w) in enumerate(o.packages, start=1)]}
    return record


def invoice(o: Any, remaining: float, modified: str) -> dict[str, Any]:
    """The invoice of an order with its current amount remaining."""
    code, name = INVOICE_STATUS["paid" if remaining <= 0 else "open"]
    return {"links": _links("invoice", o.invoice_id), "id": o.invoice_id, "tranId": o.invoice_tran_id,
            "tranDate": o.ship_date, "dueDate": o.due_date, "entity": ref(o.customer.ns_id, o.customer.company),
            "createdFrom": ref(o.ns_id, o.tran_id), "otherRefNum": o.po_number, "terms": terms(o.terms_days, o.discount),
            "status": ref(code, name), "currency": CURRENCY, "exchangeRate": 1.0, "subtotal": o.total,
            "total": o.total, "amountPaid": round(o.total - remaining, 2), "amountRemaining": round(remaining, 2),
            "item": item_lines(o.lines), "subsidiary": SUBSIDIARY, "lastModifiedDate": modified}


def payment(ns_id: str, c: Any, day: str, applies: list[tuple[Any, float, float]], modified: str) -> dict[str, Any]:
    """A customer payment applied to one or more invoices: (invoice's order, amount, early-payment discount taken).

    `c` pays: a parent customer's consolidated payment may pay its subcustomers' invoices."""
    total = round(sum(amount for _o, amount, _disc in applies), 2)
    return {"links": _links("customerPayment", ns_id), "id": ns_id, "tranId": f"PYMT{ns_id}", "tranDate": day,
            "customer": ref(c.ns_id, c.company), "payment": total, "total": total, "unapplied": 0.0,
            "status": ref("C", "Deposited"), "currency": CURRENCY, "memo": f"Remittance {day}",
            "apply": {"items": [{"line": n, "doc": ref(o.invoice_id, o.invoice_tran_id), "apply": True,
                                 "amount": amount, "type": "Invoice", "refNum": o.invoice_tran_id,
                                 "applyDate": o.ship_date,  # as NetSuite sends it: the invoice's date
                                 **({"disc": disc} if disc else {})}
                                for n, (o, amount, disc) in enumerate(applies, start=1)]},
            "lastModifiedDate": modified}


def credit_memo(ns_id: str, o: Any, day: str, line: dict[str, Any], cases: int, amount: float, reason: str,
                modified: str, voided: bool = False) -> dict[str, Any]:
    """A credit memo raised from an invoice and applied to it: `cases` of the line, `amount` in all.

    Voided, as NetSuite voids without a reversing journal: status Voided, memo VOID, amounts 0, nothing applied."""
    if voided:
        record = credit_memo(ns_id, o, day, line, 0, 0.0, "VOID", modified)
        record["status"] = ref("V", "Voided")
        record["apply"]["items"] = []
        return record
    return {"links": _links("creditMemo", ns_id), "id": ns_id, "tranId": f"CM{ns_id}", "tranDate": day,
            "entity": ref(o.customer.ns_id, o.customer.company), "createdFrom": ref(o.invoice_id, o.invoice_tran_id),
            "memo": reason, "status": ref("B", "Fully Applied"), "currency": CURRENCY, "total": amount,
            "amountRemaining": 0.0, "applied": amount,
            "item": {"items": [{"line": 1, "item": ref(line["item_id"], line["code"]), "description": line["description"],
                                "quantity": float(cases), "units": line["uom"],
                                "rate": round(amount / cases, 2) if cases else line["rate"],
                                "amount": amount}]},
            "apply": {"items": [{"line": 1, "doc": ref(o.invoice_id, o.invoice_tran_id), "apply": True,
                                 "amount": amount, "type": "Invoice"}]},
            "lastModifiedDate": modified}
