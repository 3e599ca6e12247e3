"""`worker import-reference`: concurrent writers, malformed CSV, line numbers, case-variant keys, big synonym files."""

import json
import sqlite3

from tests.test_reference import PRICING_HEADER, good_files, run_cli, table, write_reference
from worker.db import connect, run_in_transaction
from worker.decisions import REMEMBER_XREF
from worker.intake.lines import BY_XREF
from worker.reference import import_reference
from worker.reference_rows import parse_synonyms

ITEMS_HEADER = "item_id,item_code,description,uom,is_assembly,pack_size\n"
XREF_HEADER = "customer_id,customer_item_code,item_id\n"
LOG_ROW = ("INSERT INTO reflexion_log (entity_type, entity_id, tags_json, observation, status, created_at) "
           "VALUES ('x', '1', '[]', 'o', 'needs_review', '2026-01-01T00:00:00Z')")


# --- another connection writing while a file loads (the server's webhooks and cron) ---

def test_a_commit_by_another_connection_during_an_import_waits_for_the_lock_instead_of_failing(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", pricing_master__csv=PRICING_HEADER + "501,,40.00,CS,,\n")
    import_reference(conn, directory)
    write_reference(directory, pricing_master__csv=PRICING_HEADER + "501,,41.00,CS,,\n")
    other = connect(tmp_path / "conn.sqlite3", busy_timeout_ms=0)  # the conn fixture's file
    attempts: list[str] = []

    def commit_in_between(sql: str) -> None:
        # The import's first write is starting: another connection commits now, after the import read the table.
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) and not attempts:
            try:
                other.execute(LOG_ROW)
                attempts.append("committed")
            except sqlite3.OperationalError as exc:
                attempts.append(str(exc))

    conn.set_trace_callback(commit_in_between)
    report = import_reference(conn, directory)
    conn.set_trace_callback(None)
    other.close()
    assert report.ok, report.errors
    # the import held the write lock from its start, so the other writer was the one to wait (here: not at all)
    assert attempts == ["database is locked"]
    assert table(conn, "SELECT unit_price FROM pricing_master") == [(41.0,)]
    assert not conn.in_transaction


def test_inside_the_callers_transaction_the_import_neither_begins_nor_commits(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", **good_files())
    # as `worker dev` loads the demo files: through the write thread, inside its BEGIN IMMEDIATE
    report = run_in_transaction(conn, import_reference, directory)
    assert report.ok and table(conn, "SELECT count(*) FROM spec_items") == [(2,)]
    write_reference(directory, spec_items__csv=ITEMS_HEADER + "501,CHZ-AM-160,x,CS,0,\n502,KIT-BF-01,y,CS,1,\n")
    conn.execute("BEGIN IMMEDIATE")
    assert import_reference(conn, directory).by_file()["spec_items.csv"].updated == 2
    assert conn.in_transaction  # still the caller's to end
    conn.execute("ROLLBACK")
    assert table(conn, "SELECT description FROM spec_items ORDER BY item_id") == [
        ("Melt Mates American Slices",), ("Right Start Kit",)]


# --- a CSV that cannot be split into fields ---

def test_cli_a_quote_that_never_closes_refuses_its_file_at_the_line_it_opens_and_the_others_load(tmp_path):
    # A hand-edited description with an opening quote only: the csv module reads on for 128 KiB and gives up.
    rows = "".join(f"{n},C{n},Cheese number {n} with a long description text,CS,0,4/5lb\n" for n in range(2, 5000))
    files = good_files() | {"spec_items__csv": ITEMS_HEADER + '1,A1,"12 inch pizza,CS,0,4/5lb\n' + rows}
    result = run_cli(tmp_path, str(write_reference(tmp_path / "ref", **files)))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "spec_items.csv -> spec_items: NOT LOADED" in result.stdout
    assert "rejected spec_items.csv:2: cannot split into fields from this line on: field larger than field limit" \
        in result.stdout
    assert "pricing_master.csv -> pricing_master: loaded: inserted 2" in result.stdout
    assert "customer_item_xref.csv -> customer_item_xref: loaded: inserted 1" in result.stdout


def test_a_quote_that_never_closes_refuses_the_file_even_with_partial(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", spec_items__csv=ITEMS_HEADER + "1,A1,x,CS,0,\n2,A2,y,CS,0,\n")
    import_reference(conn, directory)
    write_reference(directory, spec_items__csv=ITEMS_HEADER + '1,A1,x,CS,0,\n2,A2,"y' + "z" * 200_000 + "\n")
    items = import_reference(conn, directory, partial=True).by_file()["spec_items.csv"]
    assert not items.loaded and [e.line for e in items.errors] == [3]
    assert table(conn, "SELECT item_id, description FROM spec_items ORDER BY 1") == [("1", "x"), ("2", "y")]


# --- line numbers ---

def test_a_multi_line_record_is_reported_at_the_line_it_starts_on(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", spec_items__csv=ITEMS_HEADER + (
        '1,A1,"Cheese\nshredded\nfine",CS,maybe,4/5lb\n2,A2,x,CS,0,1\n\n3,A3,"a\nb",CS,maybe,\n'))
    errors = import_reference(conn, directory).by_file()["spec_items.csv"].errors
    assert [e.line for e in errors] == [2, 7]
    assert "is_assembly: expected true/false" in errors[0].reason


def test_a_byte_that_is_not_utf8_is_reported_with_its_line(conn, tmp_path):
    directory = tmp_path / "ref"
    directory.mkdir()
    (directory / "spec_items.csv").write_bytes(b"\xef\xbb\xbf" + ITEMS_HEADER.encode() + b"1,A1,x,CS,0,\n"
                                               b"2,A2,Jalape\xf1o,CS,0,\n")
    [error] = import_reference(conn, directory, partial=True).errors
    assert error.line == 3 and str(error).startswith("spec_items.csv:3: not UTF-8 text: ")


# --- blank rows a spreadsheet leaves ---

def test_rows_whose_fields_are_all_blank_are_skipped(conn, tmp_path):
    report = import_reference(conn, write_reference(
        tmp_path / "ref",
        pricing_master__csv=PRICING_HEADER.replace("\n", "\r\n") + "501,,58.40,CS,,\r\n,,,,,\r\n502,,46.90,CS,,\r\n"
                                                                   ",,,,,\r\n , , ,,,\r\n",
        customer_item_xref__csv=XREF_HEADER + "1187,AB-1,501\n \n\n"))
    assert report.ok, report.errors
    assert table(conn, "SELECT item_id FROM pricing_master ORDER BY 1") == [("501",), ("502",)]
    assert table(conn, "SELECT customer_item_code FROM customer_item_xref") == [("AB-1",)]


# --- --partial and duplicates ---

def test_partial_keeps_the_row_a_line_rejected_as_a_duplicate_names(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", spec_items__csv=ITEMS_HEADER + (
        "1,A1,Cheese,CS,0,\n2,A2,Milk,CS,0,\n3,A3,Eggs,CS,0,\n4,A4,Butter,CS,0,\n"))
    import_reference(conn, directory)
    # item 2's code mistyped into item 1's (as lookups compare codes): the line is rejected, item 2 must stay
    write_reference(directory, spec_items__csv=ITEMS_HEADER + (
        "1,A1,Cheese,CS,0,\n2,a1,Milk 2%,CS,0,\n3,A3,Eggs,CS,0,\n4,A4,Butter,CS,0,\n"))
    items = import_reference(conn, directory, partial=True).by_file()["spec_items.csv"]
    assert items.loaded and (items.deleted, items.kept, items.rejected) == (0, 1, 1)
    assert table(conn, "SELECT item_id, item_code, description FROM spec_items WHERE item_id = '2'") == [
        ("2", "A2", "Milk")]


def test_partial_keeps_a_row_a_rejected_line_names_in_another_spelling(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", customer_item_xref__csv=XREF_HEADER + (
        "1187,AB-1,501\n1187,ab-2,502\n1187,AB-3,503\n"), pricing_master__csv=PRICING_HEADER + (
        "501,,40,CS,,\n502,,41,Case,,\n503,,42,CS,,\n"))
    import_reference(conn, directory)
    # codes compare ignoring case and units by their code, so these rejected lines mean ab-2 and 502's Case price
    write_reference(directory, customer_item_xref__csv=XREF_HEADER + "1187,AB-1,501\n1187,AB-2,\n1187,AB-3,503\n",
                    pricing_master__csv=PRICING_HEADER + "501,,40,CS,,\n502,,lots,cs,,\n503,,42,CS,,\n")
    report = import_reference(conn, directory, partial=True).by_file()
    assert (report["customer_item_xref.csv"].deleted, report["customer_item_xref.csv"].kept) == (0, 1)
    assert (report["pricing_master.csv"].deleted, report["pricing_master.csv"].kept) == (0, 1)
    assert table(conn, "SELECT customer_item_code FROM customer_item_xref ORDER BY 1") == [
        ("AB-1",), ("AB-3",), ("ab-2",)]
    assert table(conn, "SELECT item_id, uom FROM pricing_master ORDER BY 1") == [
        ("501", "CS"), ("502", "Case"), ("503", "CS")]


def test_a_blank_unit_row_replaces_the_row_in_the_items_own_unit_without_counting_as_a_mass_delete(conn, tmp_path):
    # 501 is sold per CS, so '501,,42,,,' is the same key to the lookup as the table's '501,,40,CS,,': it replaces
    # it (was: the CS row counted as removed, 1 of 1, and the file was refused as a mass delete)
    directory = write_reference(tmp_path / "ref", spec_items__csv=ITEMS_HEADER + "501,A1,Cheese,CS,0,4/5lb\n",
                                pricing_master__csv=PRICING_HEADER + "501,,40,CS,,\n")
    import_reference(conn, directory)
    write_reference(directory, pricing_master__csv=PRICING_HEADER + "501,,42,,,\n")
    prices = import_reference(conn, directory).by_file()["pricing_master.csv"]
    assert prices.loaded and (prices.inserted, prices.deleted) == (1, 1)
    assert table(conn, "SELECT item_id, unit_price, uom FROM pricing_master") == [("501", 42.0, "")]
    # with --partial, a rejected line in the item's unit keeps the blank-unit row it may be meant to update
    write_reference(directory, pricing_master__csv=PRICING_HEADER + "501,,lots,CS,,\n502,,1,CS,,\n")
    prices = import_reference(conn, directory, partial=True).by_file()["pricing_master.csv"]
    assert (prices.inserted, prices.deleted, prices.kept) == (1, 0, 1)
    assert table(conn, "SELECT item_id, unit_price, uom FROM pricing_master ORDER BY 1") == [
        ("501", 42.0, ""), ("502", 1.0, "CS")]


# --- customer codes that differ only in case ---

def lookup(conn, code: str) -> str:
    return conn.execute(BY_XREF, ("1187", code, code)).fetchone()[0]


def test_an_import_overrides_a_reviewer_mapping_of_the_same_code_in_another_case(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", customer_item_xref__csv=XREF_HEADER + "1187,df-100160,501\n")
    import_reference(conn, directory)
    # a reviewer approves a PO printing the code in capitals: the approval remembers that spelling
    named = {"customer": "1187", "code": "DF-100160", "item": "501", "at": "2026-01-01T00:00:00Z"}
    assert [conn.execute(sql, named).rowcount for sql in REMEMBER_XREF] == [0, 1]
    # then operations re-map the code by import: it names the code, so it overrides it however it is spelled
    write_reference(directory, customer_item_xref__csv=XREF_HEADER + "1187,df-100160,502\n")
    xref = import_reference(conn, directory).by_file()["customer_item_xref.csv"]
    assert (xref.updated, xref.deleted) == (1, 1)
    assert lookup(conn, "DF-100160") == lookup(conn, "df-100160") == "502"
    assert table(conn, "SELECT customer_item_code, item_id, source FROM customer_item_xref") == [
        ("df-100160", "502", "import")]
    again = import_reference(conn, directory).by_file()["customer_item_xref.csv"]
    assert (again.inserted, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 1)


def test_a_respelled_code_replaces_the_old_spelling_without_counting_as_a_mass_delete(conn, tmp_path):
    directory = write_reference(tmp_path / "ref",
                                customer_item_xref__csv=XREF_HEADER + "1187,ab-1,501\n1187,ab-2,502\n")
    import_reference(conn, directory)
    write_reference(directory, customer_item_xref__csv=XREF_HEADER + "1187,AB-1,501\n1187,AB-2,502\n")
    xref = import_reference(conn, directory).by_file()["customer_item_xref.csv"]
    assert xref.loaded and (xref.inserted, xref.deleted) == (2, 2)
    assert table(conn, "SELECT customer_item_code FROM customer_item_xref ORDER BY 1") == [("AB-1",), ("AB-2",)]


def test_the_lookup_takes_the_newest_mapping_of_a_code_whatever_its_case(conn):
    conn.execute("INSERT INTO customer_item_xref VALUES ('1187', 'df-1', '501', 'import', '2026-01-01T00:00:00Z'), "
                 "('1187', 'DF-1', '502', 'reviewer', '2026-02-01T00:00:00Z'), ('1187', 'Df-1', '503', 'import', NULL)")
    assert {lookup(conn, code) for code in ("df-1", "DF-1", "Df-1", "dF-1")} == {"502"}
    conn.execute("UPDATE customer_item_xref SET updated_at = '2026-02-01T00:00:00Z'")
    # a tie: the code as printed decides, then the spelling, never the table's order
    assert [lookup(conn, code) for code in ("df-1", "DF-1", "Df-1", "dF-1")] == ["501", "502", "503", "502"]


# --- name_synonyms.json: every entry located by its own line ---

def test_synonym_entries_are_located_by_their_own_line():
    text = json.dumps({"brand_prefixes": {"Café Rio": " "},
                       "customers": {"1187": ["Driscoll", "Café Rio"], "2001": ["Harbor", "Driscoll"]}},
                      indent=2, ensure_ascii=False)
    parsed = parse_synonyms("name_synonyms.json", text.encode())
    # the second "Driscoll" (customer 2001's, line 12) is the conflicting one; a key written unescaped is found
    assert [(e.line, e.reason) for e in parsed.errors] == [
        (12, "customer 'Driscoll' means 'driscoll', already given to customer 1187 (line 7)"),
        (3, "brand_prefix 'Café Rio': customer id is empty")]


def test_a_large_synonym_file_keeps_every_line_number_right():
    customers = {str(100000 + c): [f"Customer {c} Foods", f"Cust {c} Dining"] for c in range(3000)}
    customers["1"] = ["Customer 5 Foods"]  # a conflict at the very end
    text = json.dumps({"customers": customers}, indent=1)
    first, last = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == '"Customer 5 Foods",'
                   or line.strip() == '"Customer 5 Foods"']
    [error] = parse_synonyms("name_synonyms.json", text.encode()).errors
    assert (error.line, first) == (last, 24)
    assert error.reason.endswith("already given to customer 100005 (line 24)")
