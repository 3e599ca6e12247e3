"""`worker import-reference` (SPEC 10): validation with line-level errors, all-or-nothing, --partial, idempotence."""

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tests.helpers import needs
from worker.reference import import_reference

REPO = Path(__file__).resolve().parent.parent
PROGRAM_HEADER = "customer_id,program,markup_pct,freight_terms,payment_terms_days,usda_eligible\n"
PRICING_HEADER = "item_id,customer_id,unit_price,uom,effective_from,effective_to\n"


def write_reference(directory: Path, **files: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name.replace("__", ".")).write_text(text, encoding="utf-8")
    return directory


def good_files() -> dict[str, str]:
    synonyms = {"customers": {"1187": ["Driscoll", "Driscoll Foods", "DRISCOLL FOODS INC."], "2001": ["Harbor Bistro"]},
                "brand_prefixes": {"Melt Mates": "1187"}}
    return {
        "name_synonyms__json": json.dumps(synonyms, indent=2),
        "customer_program__csv": PROGRAM_HEADER + "1187,driscoll,8.5,prepaid,30,yes\n2001,restaurant,15,collect,15,no\n",
        "spec_items__csv": "item_id,item_code,description,uom,is_assembly,pack_size\n"
                           "501,CHZ-AM-160,Melt Mates American Slices,CS,0,4/160ct\n502,KIT-BF-01,Right Start Kit,CS,1,\n",
        "pricing_master__csv": PRICING_HEADER + "501,,40.00,CS,,\n501,1187,41.25,CS,2026-01-01,2026-12-31\n",
        "customer_item_xref__csv": "customer_id,customer_item_code,item_id\n1187,DF-88812,501\n",
    }


def table(conn, sql):
    return [tuple(r) for r in conn.execute(sql)]


def test_loads_every_file_and_maps_synonyms_through_normalize_name(conn, tmp_path):
    report = import_reference(conn, write_reference(tmp_path / "ref", **good_files()))
    assert report.ok, report.errors
    assert {f.file: f.inserted for f in report.files} == {
        "name_synonyms.json": 4, "customer_program.csv": 2, "spec_items.csv": 2, "pricing_master.csv": 2,
        "customer_item_xref.csv": 1}
    # "Driscoll Foods" and "DRISCOLL FOODS INC." normalize to one name: one row, first spelling kept
    assert table(conn, "SELECT kind, normalized, synonym, customer_id FROM name_synonyms ORDER BY kind, normalized") == [
        ("brand_prefix", "melt mates", "Melt Mates", "1187"), ("customer", "driscoll", "Driscoll", "1187"),
        ("customer", "driscoll foods", "Driscoll Foods", "1187"), ("customer", "harbor bistro", "Harbor Bistro", "2001")]
    assert table(conn, "SELECT * FROM customer_program WHERE customer_id = '1187'") == [
        ("1187", "driscoll", 8.5, "prepaid", 30, 1)]
    # blanks: '' customer = list price, '' dates = open-ended
    assert table(conn, "SELECT item_id, customer_id, unit_price, uom, effective_from, effective_to FROM pricing_master "
                       "ORDER BY customer_id") == [("501", "", 40.0, "CS", "", ""),
                                                   ("501", "1187", 41.25, "CS", "2026-01-01", "2026-12-31")]
    assert table(conn, "SELECT is_assembly, pack_size FROM spec_items ORDER BY item_id") == [(0, "4/160ct"), (1, None)]
    assert table(conn, "SELECT source FROM customer_item_xref") == [("import",)]


def test_rerun_changes_nothing_and_edits_are_upserts_and_deletes(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", **good_files())
    import_reference(conn, directory)
    before = table(conn, "SELECT id, item_id, customer_id, unit_price FROM pricing_master ORDER BY id")
    again = import_reference(conn, directory)
    assert again.ok
    assert all(f.inserted == f.updated == f.deleted == 0 and f.unchanged > 0 for f in again.files)
    assert table(conn, "SELECT id, item_id, customer_id, unit_price FROM pricing_master ORDER BY id") == before

    write_reference(directory, pricing_master__csv=PRICING_HEADER + "501,,42.00,CS,,\n502,,80,CS,,\n")
    edited = import_reference(conn, directory).by_file()["pricing_master.csv"]
    assert (edited.inserted, edited.updated, edited.deleted, edited.unchanged) == (1, 1, 1, 0)
    rows = table(conn, "SELECT id, item_id, customer_id, unit_price FROM pricing_master ORDER BY item_id")
    assert rows[0] == (before[0][0], "501", "", 42.0)  # updated in place: same row id
    assert [r[1:] for r in rows] == [("501", "", 42.0), ("502", "", 80.0)]


def test_one_bad_row_rejects_the_whole_file_with_file_line_and_reason(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", **good_files())
    import_reference(conn, directory)
    write_reference(directory, customer_program__csv=PROGRAM_HEADER + "1187,driscoll,9,prepaid,30,yes\n"
                    "2001,restaurant,lots,collect,15,maybe\n3001,school,5,prepaid,-3,no\n")
    report = import_reference(conn, directory)
    programs = report.by_file()["customer_program.csv"]
    assert not programs.loaded and not report.ok
    assert [(e.file, e.line) for e in programs.errors] == [("customer_program.csv", 3), ("customer_program.csv", 4)]
    assert "markup_pct: Input should be a valid number" in programs.errors[0].reason
    assert "'lots'" in programs.errors[0].reason and "usda_eligible" in programs.errors[0].reason
    assert "payment_terms_days: Input should be greater than or equal to 0" in programs.errors[1].reason
    assert str(programs.errors[1]).startswith("customer_program.csv:4: ")
    # nothing of the bad file reached the table; the other files still loaded
    assert table(conn, "SELECT customer_id, markup_pct FROM customer_program ORDER BY customer_id") == [
        ("1187", 8.5), ("2001", 15.0)]
    assert report.by_file()["spec_items.csv"].loaded


def test_partial_loads_valid_rows_and_keeps_the_previous_version_of_rejected_keys(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", **good_files())
    import_reference(conn, directory)
    write_reference(directory, customer_program__csv=PROGRAM_HEADER + "1187,driscoll,9,prepaid,30,yes\n"
                    "2001,restaurant,lots,collect,15,no\n3001,school,5,prepaid,45,no\n")
    report = import_reference(conn, directory, partial=True)
    programs = report.by_file()["customer_program.csv"]
    assert programs.loaded and not report.ok
    assert (programs.inserted, programs.updated, programs.deleted, programs.rejected) == (1, 1, 0, 1)
    assert programs.errors[0].line == 3
    # 2001's row was rejected, so its last good version stays rather than being deleted as "absent"
    assert table(conn, "SELECT customer_id, markup_pct FROM customer_program ORDER BY customer_id") == [
        ("1187", 9.0), ("2001", 15.0), ("3001", 5.0)]


def test_a_failure_midway_through_a_file_keeps_nothing_of_it(conn, tmp_path):
    # Not a refused row but a failing database (a runtime error in a trigger stands in for a lock or a
    # full disk) after the first row was written: the error is raised and no row stays.
    conn.execute("CREATE TRIGGER fail_midway AFTER INSERT ON pricing_master WHEN NEW.customer_id = '1187' "
                 "BEGIN SELECT json('not json'); END")
    directory = write_reference(tmp_path / "ref", pricing_master__csv=good_files()["pricing_master__csv"])
    with pytest.raises(sqlite3.OperationalError, match="malformed JSON"):
        import_reference(conn, directory)
    assert not conn.in_transaction
    assert table(conn, "SELECT count(*) FROM pricing_master") == [(0,)]


def test_a_file_that_would_delete_more_than_half_its_table_is_refused_unless_allowed(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", **good_files())
    import_reference(conn, directory)
    # a truncated export: the header survived, the rows did not
    write_reference(directory, pricing_master__csv=PRICING_HEADER,
                    customer_program__csv=PROGRAM_HEADER + "1187,driscoll,9,prepaid,30,yes\n")
    report = import_reference(conn, directory)
    files = report.by_file()
    assert not report.ok and not files["pricing_master.csv"].loaded
    assert files["pricing_master.csv"].deleted == 0
    assert str(files["pricing_master.csv"].errors[0]) == (
        "pricing_master.csv: would delete 2 of the 2 rows in pricing_master (more than half); nothing was changed: "
        "is the file truncated? Pass --allow-deletes if the removal is intended")
    assert table(conn, "SELECT count(*) FROM pricing_master") == [(2,)]
    # removing exactly half is an ordinary edit
    assert files["customer_program.csv"].loaded and files["customer_program.csv"].deleted == 1
    assert table(conn, "SELECT customer_id, markup_pct FROM customer_program") == [("1187", 9.0)]

    allowed = import_reference(conn, directory, allow_deletes=True).by_file()["pricing_master.csv"]
    assert allowed.loaded and allowed.deleted == 2
    assert table(conn, "SELECT count(*) FROM pricing_master") == [(0,)]


def test_review_taught_rows_do_not_count_toward_the_delete_guard(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", **good_files())
    import_reference(conn, directory)
    conn.executemany("INSERT INTO customer_item_xref (customer_id, customer_item_code, item_id, source, updated_at) "
                     "VALUES ('1187', ?, '501', 'review', '2026-11-01T00:00:00Z')", [(f"R-{n}",) for n in range(5)])
    write_reference(directory, customer_item_xref__csv="customer_id,customer_item_code,item_id\n")
    xref = import_reference(conn, directory).by_file()["customer_item_xref.csv"]
    assert not xref.loaded and "would delete 1 of the 1 rows" in xref.errors[0].reason
    assert table(conn, "SELECT count(*) FROM customer_item_xref") == [(6,)]


def test_file_level_problems_are_never_partially_loaded(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", customer_program__csv="customer_id,progam,markup_pct\n1,x,1\n",
                                name_synonyms__json='{"customers": {"1187": ["Driscoll",]}}')
    report = import_reference(conn, directory, partial=True)
    files = report.by_file()
    assert not files["customer_program.csv"].loaded and not files["name_synonyms.json"].loaded
    assert files["customer_program.csv"].errors[0].line == 1
    assert "unknown column(s) progam" in files["customer_program.csv"].errors[0].reason
    assert "missing column(s) program" in files["customer_program.csv"].errors[0].reason
    assert files["name_synonyms.json"].errors[0].reason.startswith("not valid JSON")
    assert table(conn, "SELECT count(*) FROM customer_program") == [(0,)]


def test_row_shape_duplicates_and_conflicting_synonyms_are_reported(conn, tmp_path):
    synonyms = '{"customers": {\n  "1187": ["Driscoll"],\n  "2001": ["Harbor Bistro", "driscoll"]\n}}'
    directory = write_reference(tmp_path / "ref", name_synonyms__json=synonyms, pricing_master__csv=PRICING_HEADER
                                + "501,,40,CS,,\n501,,41,CS,,\n502,,1,CS,2026-02-01,2026-01-01\n503,,1\n504,,1,CS,,,x\n")
    report = import_reference(conn, directory, partial=True)
    errors = [(e.line, e.reason) for e in report.by_file()["pricing_master.csv"].errors]
    assert errors[0] == (3, "duplicate of line 2 (item_id, customer_id, uom, effective_from = 501, , CS, )")
    assert errors[1][0] == 4 and "effective_to 2026-01-01 is before effective_from 2026-02-01" in errors[1][1]
    assert errors[2] == (5, "too few fields: missing uom, effective_from, effective_to")
    assert errors[3] == (6, "1 more field(s) than the header has")
    conflict = report.by_file()["name_synonyms.json"].errors
    assert [(e.line, e.reason) for e in conflict] == [
        (3, "customer 'driscoll' means 'driscoll', already given to customer 1187 (line 2)")]


def test_keys_that_differ_only_in_case_or_unit_spelling_are_duplicates(conn, tmp_path):
    # The lookups compare codes ignoring case and units by their code: both rows would load, one picked at random.
    directory = write_reference(
        tmp_path / "ref",
        spec_items__csv="item_id,item_code,description,uom,is_assembly,pack_size\n"
                        "501,MM-1,Cheese,CS,0,4/5lb\n502,mm-1,Mozzarella,CS,0,4/5lb\n",
        pricing_master__csv=PRICING_HEADER + "501,,40.00,CS,,\n501,,45.00,Case,,\n501,1187,47.00,cs,,\n",
        customer_item_xref__csv="customer_id,customer_item_code,item_id\n1187,AB-7,501\n1187,ab-7,502\n")
    report = import_reference(conn, directory)
    assert {f.file: [(e.line, e.reason) for e in f.errors] for f in report.files} == {
        "spec_items.csv": [(3, "duplicate of line 2 (item_code = mm-1, which lookups read as line 2's MM-1)")],
        "pricing_master.csv": [(3, "duplicate of line 2 (item_id, customer_id, uom, effective_from = 501, , Case, , "
                                   "which lookups read as line 2's 501, , CS, )")],  # 1187's own price is no repeat
        "customer_item_xref.csv": [(3, "duplicate of line 2 (customer_id, customer_item_code = 1187, ab-7, "
                                       "which lookups read as line 2's 1187, AB-7)")]}
    assert not any(f.loaded for f in report.files)
    assert table(conn, "SELECT (SELECT count(*) FROM spec_items) + (SELECT count(*) FROM pricing_master)"
                       " + (SELECT count(*) FROM customer_item_xref)") == [(0,)]


def test_a_row_without_a_uom_repeats_the_row_in_the_items_own_unit(conn, tmp_path):
    # A blank uom is the item's own unit: for 501 (sold per 'Case', i.e. CS) '501,,45.00,,,' is a second case price,
    # and the lookup took it over 40.00 (was: both loaded). 502's unit is unknown: its blank row is its price in
    # any unit without a row of its own, so it stands beside the CS row (the lookup prefers the stated unit).
    items = "item_id,item_code,description,uom,is_assembly,pack_size\n501,X-1,Cheese,Case,0,4/5lb\n502,X-2,Kit,,0,\n"
    directory = write_reference(tmp_path / "ref", spec_items__csv=items, pricing_master__csv=PRICING_HEADER
                                + "501,,40.00,CS,,\n501,,45.00,,,\n502,,10.00,CS,,\n502,,12.00,,,\n"
                                "503,,5.00,,,\n503,,6.00,EA,,\n")
    report = import_reference(conn, directory, partial=True)
    assert [(e.line, e.reason) for e in report.by_file()["pricing_master.csv"].errors] == [
        (3, ("duplicate of line 2 (item_id, customer_id, uom, effective_from = 501, , , , which lookups read as "
             "line 2's 501, , CS, : a blank uom is the item's own unit, CS in spec_items)"))]
    assert table(conn, "SELECT item_id, unit_price, uom FROM pricing_master ORDER BY item_id, uom") == [
        ("501", 40.0, "CS"), ("502", 12.0, ""), ("502", 10.0, "CS"), ("503", 5.0, ""), ("503", 6.0, "EA")]
    # the other way round, and with the item's unit spelled otherwise in the price list
    write_reference(directory, pricing_master__csv=PRICING_HEADER + "501,,45.00,,,\n501,,40.00,case,,\n")
    errors = import_reference(conn, directory).by_file()["pricing_master.csv"].errors
    assert [(e.line, e.reason) for e in errors] == [
        (3, ("duplicate of line 2 (item_id, customer_id, uom, effective_from = 501, , case, , which lookups read "
             "as line 2's 501, , , : a blank uom is the item's own unit, CS in spec_items)"))]


@pytest.mark.parametrize(("file", "header", "row"), [
    ("customer_program.csv", PROGRAM_HEADER, "1187,driscoll,8.5,prepaid,30,yes"),
    ("spec_items.csv", "item_id,item_code,description,uom,is_assembly,pack_size\n", "503,KIT-2,Kit,CS,1,4ct"),
    ("pricing_master.csv", PRICING_HEADER, "502,1187,20.00,CS,2026-01-01,2026-03-31"),
    ("customer_item_xref.csv", "customer_id,customer_item_code,item_id\n", "1187,DF-1,501")])
def test_a_header_without_a_column_spec_10_lists_refuses_the_file(conn, tmp_path, file, header, row):
    # was: only required columns had to be there, so a pricing file without customer_id and effective_to loaded
    # a customer's contract price as an open-ended list price, and one without is_assembly unmarked assemblies
    columns, values = header.strip().split(","), row.split(",")
    directory = write_reference(tmp_path / "ref", **good_files())
    import_reference(conn, directory)
    before = table(conn, f"SELECT * FROM {file.removesuffix('.csv')} ORDER BY 1, 2")
    for dropped in range(len(columns)):
        kept = [n for n in range(len(columns)) if n != dropped]
        text = ",".join(columns[n] for n in kept) + "\n" + ",".join(values[n] for n in kept) + "\n"
        write_reference(directory, **{file.replace(".", "__"): text})
        loaded = import_reference(conn, directory, partial=True).by_file()[file]
        assert not loaded.loaded and [(e.line, e.reason) for e in loaded.errors] == [
            (1, f"bad header (missing column(s) {columns[dropped]}); expected {header.strip()}")], columns[dropped]
        assert table(conn, f"SELECT * FROM {file.removesuffix('.csv')} ORDER BY 1, 2") == before
    # every column in another order is fine
    order = list(reversed(range(len(columns))))
    text = ",".join(columns[n] for n in order) + "\n" + ",".join(values[n] for n in order) + "\n"
    write_reference(directory, **{file.replace(".", "__"): text})
    assert import_reference(conn, directory, allow_deletes=True).by_file()[file].loaded


def test_a_header_naming_only_the_required_columns_lists_every_missing_one(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", pricing_master__csv="item_id,unit_price,uom,effective_from\n"
                                                                      "501,40.00,CS,\n")
    [error] = import_reference(conn, directory, partial=True).by_file()["pricing_master.csv"].errors
    assert str(error) == ("pricing_master.csv:1: bad header (missing column(s) customer_id, effective_to); "
                          "expected item_id,customer_id,unit_price,uom,effective_from,effective_to")


def test_a_customer_listed_twice_in_the_synonyms_refuses_the_file(conn, tmp_path):
    # JSON keeps the last of two equal keys: "Driscoll" would vanish without a word, so nothing loads.
    synonyms = '{"customers": {\n  "1187": ["Driscoll"],\n  "2001": ["Harbor Bistro"],\n  "1187": ["DFI"]\n}}'
    directory = write_reference(tmp_path / "ref", name_synonyms__json=synonyms)
    report = import_reference(conn, directory, partial=True)
    synonyms_file = report.by_file()["name_synonyms.json"]
    assert not synonyms_file.loaded
    [error] = synonyms_file.errors
    assert error.line == 4 and error.reason.startswith("key '1187' is given twice in one object (lines 2 and 4)")
    assert table(conn, "SELECT count(*) FROM name_synonyms") == [(0,)]


def test_review_learned_xref_rows_survive_an_import(conn, tmp_path):
    conn.execute("INSERT INTO customer_item_xref (customer_id, customer_item_code, item_id, source) "
                 "VALUES ('2001', 'HB-7', '502', 'review')")
    import_reference(conn, write_reference(tmp_path / "ref", **good_files()))
    assert table(conn, "SELECT customer_id, customer_item_code, source FROM customer_item_xref ORDER BY 1") == [
        ("1187", "DF-88812", "import"), ("2001", "HB-7", "review")]


def run_cli(tmp_path, *args):
    environ = {**os.environ, "WORKER_DB_PATH": str(tmp_path / "cli.sqlite3")}
    return subprocess.run([sys.executable, "-m", "worker.cli", "--config", str(REPO / "wrangler-like.toml"),
                           "import-reference", *args], env=environ, capture_output=True, text=True, timeout=60,
                          cwd=REPO)


def test_cli_prints_a_summary_and_signals_rejections_by_exit_status(tmp_path):
    directory = write_reference(tmp_path / "ref", **good_files())
    first = run_cli(tmp_path, str(directory))
    assert first.returncode == 0, first.stderr
    assert "pricing_master.csv -> pricing_master: loaded: inserted 2, updated 0, deleted 0, unchanged 0" in first.stdout
    second = run_cli(tmp_path, str(directory))
    assert "customer_program.csv -> customer_program: loaded: inserted 0, updated 0, deleted 0, unchanged 2" \
        in second.stdout

    write_reference(directory, spec_items__csv="item_id,item_code,description,uom,is_assembly,pack_size\n"
                                               "501,,x,CS,0,\n503,NEW-1,New,CS,1,\n")
    strict = run_cli(tmp_path, str(directory))
    assert strict.returncode == 1
    assert "spec_items.csv -> spec_items: NOT LOADED" in strict.stdout
    assert "rejected spec_items.csv:2: item_code: String should have at least 1 character" in strict.stdout
    partial = run_cli(tmp_path, str(directory), "--partial")
    assert partial.returncode == 1
    assert "spec_items.csv -> spec_items: loaded: inserted 1, updated 0, deleted 1, unchanged 0, rejected 1" \
        in partial.stdout

    write_reference(directory, spec_items__csv="item_id,item_code,description,uom,is_assembly,pack_size\n")
    refused = run_cli(tmp_path, str(directory))
    assert refused.returncode == 1 and "spec_items.csv -> spec_items: NOT LOADED" in refused.stdout
    assert "rejected spec_items.csv: would delete 2 of the 2 rows in spec_items" in refused.stdout
    allowed = run_cli(tmp_path, str(directory), "--allow-deletes")
    assert allowed.returncode == 0, allowed.stdout
    assert "spec_items.csv -> spec_items: loaded: inserted 0, updated 0, deleted 2, unchanged 0" in allowed.stdout

    missing = run_cli(tmp_path, str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no reference files" in missing.stderr


# --- unreadable files: reported per file like any other refusal, the other files still load ---

def test_an_unreadable_file_is_reported_and_changes_nothing_while_the_others_load(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", **good_files())
    import_reference(conn, directory)
    before = {t: table(conn, f"SELECT * FROM {t} ORDER BY 1, 2") for t in ("spec_items", "customer_program",
                                                                            "pricing_master")}
    # Real failures as root (chmod 0 does not stop root): a read that fails with EIO, a directory and a FIFO
    # (which must not block the import) named like reference files.
    (directory / "spec_items.csv").unlink()
    (directory / "spec_items.csv").symlink_to("/proc/self/mem")
    (directory / "customer_program.csv").unlink()
    (directory / "customer_program.csv").mkdir()
    (directory / "pricing_master.csv").unlink()
    os.mkfifo(directory / "pricing_master.csv")
    write_reference(directory, customer_item_xref__csv="customer_id,customer_item_code,item_id\n1187,DF-88812,502\n")
    report = import_reference(conn, directory, partial=True)
    files = report.by_file()
    assert not report.ok
    assert [str(e) for e in report.errors] == ["customer_program.csv: cannot read: not a regular file",
                                               "spec_items.csv: cannot read: Input/output error",
                                               "pricing_master.csv: cannot read: not a regular file"]
    assert [f.file for f in report.files if not f.loaded] == ["customer_program.csv", "spec_items.csv",
                                                              "pricing_master.csv"]
    assert files["customer_item_xref.csv"].loaded and files["customer_item_xref.csv"].updated == 1
    assert {t: table(conn, f"SELECT * FROM {t} ORDER BY 1, 2") for t in before} == before


def test_cli_reports_a_permission_denied_file_and_goes_on_with_the_others(tmp_path):
    directory = write_reference(tmp_path / "ref", **good_files())
    (directory / "pricing_master.csv").chmod(0)
    command = []
    if os.geteuid() == 0:  # root reads any file; a user namespace keeps root the owner but without that power
        works = subprocess.run(["unshare", "--user", "true"], capture_output=True, timeout=30).returncode == 0
        needs(works, "needs `unshare --user` to meet a real permission error as root")  # under CI: fails, not skips
        command = ["unshare", "--user"]
    environ = {**os.environ, "WORKER_DB_PATH": str(tmp_path / "cli.sqlite3")}
    result = subprocess.run([*command, sys.executable, "-m", "worker.cli", "--config", str(REPO / "wrangler-like.toml"),
                             "import-reference", str(directory)], env=environ, capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    lines = result.stdout.splitlines()
    assert "pricing_master.csv -> pricing_master: NOT LOADED: inserted 0, updated 0, deleted 0, unchanged 0, " \
           "rejected 1" in lines
    assert "  rejected pricing_master.csv: cannot read: Permission denied" in lines
    # the files after it were still imported
    assert "customer_item_xref.csv -> customer_item_xref: loaded: inserted 1, updated 0, deleted 0, unchanged 0, " \
           "rejected 0" in lines
    with closing(sqlite3.connect(tmp_path / "cli.sqlite3")) as db:
        assert db.execute("SELECT count(*) FROM pricing_master").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM customer_item_xref").fetchone() == (1,)


def test_cli_reports_a_fifo_named_like_the_only_reference_file_as_that_files_error(tmp_path):
    # It was "no reference files" (exit 2): the check for any reference file counted regular files only.
    directory = tmp_path / "ref"
    directory.mkdir()
    os.mkfifo(directory / "pricing_master.csv")
    environ = {**os.environ, "WORKER_DB_PATH": str(tmp_path / "cli.sqlite3")}
    result = subprocess.run([sys.executable, "-m", "worker.cli", "--config", str(REPO / "wrangler-like.toml"),
                             "import-reference", str(directory)], env=environ, capture_output=True, text=True,
                            timeout=60, cwd=REPO, check=False)
    assert result.returncode == 1, result.stderr
    assert "  rejected pricing_master.csv: cannot read: not a regular file" in result.stdout.splitlines()


# --- --partial: a rejected line never deletes the row it was probably meant to update ---

def test_partial_keeps_rows_that_a_line_rejected_for_a_bad_key_column_may_update(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", pricing_master__csv=PRICING_HEADER + (
        "501,,40.00,CS,,\n504,,61.10,CS,,\n504,1187,58.00,CS,2026-01-01,\n504,2001,59.00,CS,,\n505,,32.50,CS,,\n"
        "506,,10,CS,,\n"))
    import_reference(conn, directory)
    write_reference(directory, pricing_master__csv=PRICING_HEADER + (
        "501,,40.00,CS,,\n"
        "504,,61.10,CS,notadate,\n"  # a typo in a key column: the row it meant to update is kept
        "504,1187,lots,CS,2026-01-01T00:00:00,\n"  # readable key, written another way pydantic accepts
        "506,,10,CS,,\n"))
    pricing = import_reference(conn, directory, partial=True).by_file()["pricing_master.csv"]
    # 504's price for 2001 and 505 are no longer in the file and no rejected line can mean them
    assert table(conn, "SELECT item_id, customer_id, unit_price, effective_from FROM pricing_master "
                       "ORDER BY item_id, customer_id") == [
        ("501", "", 40.0, ""), ("504", "", 61.1, ""), ("504", "1187", 58.0, "2026-01-01"), ("506", "", 10.0, "")]
    assert pricing.loaded and pricing.rejected == 2
    assert (pricing.inserted, pricing.updated, pricing.deleted, pricing.unchanged, pricing.kept) == (0, 0, 2, 2, 2)
    assert pricing.summary() == ("pricing_master.csv -> pricing_master: loaded: inserted 0, updated 0, deleted 2, "
                                 "unchanged 2, rejected 2, kept 2 (not deleted: a rejected line may update them)")


def test_partial_keeps_every_row_when_a_line_cannot_be_split_into_columns(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", **good_files())
    import_reference(conn, directory)
    # a cut-off last line: its fields cannot be matched to columns, so any row may be the one it meant
    write_reference(directory, spec_items__csv="item_id,item_code,description,uom,is_assembly,pack_size\n"
                                               "501,CHZ-AM-160,Melt Mates American Slices,CS,0,4/160ct\n502,KIT")
    spec = import_reference(conn, directory, partial=True).by_file()["spec_items.csv"]
    assert table(conn, "SELECT item_id FROM spec_items ORDER BY 1") == [("501",), ("502",)]
    assert spec.loaded and (spec.deleted, spec.unchanged, spec.kept, spec.rejected) == (0, 1, 1, 1)


def test_partial_keeps_a_synonym_whose_new_entry_names_no_customer(conn, tmp_path):
    directory = write_reference(tmp_path / "ref", **good_files())
    import_reference(conn, directory)
    write_reference(directory, name_synonyms__json=json.dumps(
        {"customers": {"1187": ["Driscoll", "Driscoll Foods"], " ": ["Harbor Bistro"]}, "brand_prefixes": {}}))
    synonyms = import_reference(conn, directory, partial=True).by_file()["name_synonyms.json"]
    # the brand prefix is gone from the file and is deleted; the rejected entry keeps Harbor Bistro
    assert table(conn, "SELECT normalized, customer_id FROM name_synonyms ORDER BY 1") == [
        ("driscoll", "1187"), ("driscoll foods", "1187"), ("harbor bistro", "2001")]
    assert synonyms.loaded and (synonyms.deleted, synonyms.kept, synonyms.rejected) == (1, 1, 1)


def test_a_file_over_the_size_limit_is_refused_by_its_size_before_it_is_read(conn, tmp_path, monkeypatch):
    import builtins

    from worker import reference
    directory = write_reference(tmp_path / "ref", **good_files())
    monkeypatch.setattr(reference, "MAX_FILE_BYTES", 100)  # the real limit is 20 MB; the files here are bigger than 100
    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda file, *a, **k: opened.append(file) or real_open(file, *a, **k))
    report = import_reference(conn, directory)
    size = (directory / "customer_program.csv").stat().st_size
    assert f"customer_program.csv: cannot read: file is {size} bytes, over the 100 limit" in [str(e) for e in report.errors]
    small = {f.name for f in directory.iterdir() if f.stat().st_size <= 100}
    assert small == {"customer_item_xref.csv"}  # the one under the limit is read and loaded
    assert {f.file for f in report.files if f.loaded} == small
    assert len(opened) == len(small)  # the others were refused without being read
    assert table(conn, "SELECT count(*) FROM customer_program") == [(0,)]
