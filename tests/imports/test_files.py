"""Malformed and unusual files: each a small in-memory CSV, checked for the exact line, column and
reason the marketer sees."""

import io

import openpyxl
import pytest

from apps.core.errors import ApplicationError
from apps.customers.models import Customer
from apps.imports.models import Import, ImportStatus
from apps.imports.services import import_set_mapping
from apps.metadata.services import metadata_schema_save
from tests.customers.factories import CustomerFactory
from tests.imports.helpers import issues, rejected_text

pytestmark = pytest.mark.django_db


def refused(upload, data, **kwargs) -> str:
    with pytest.raises(ApplicationError) as info:
        upload(data, **kwargs)
    assert not Import.objects.exists()
    return info.value.message


# --- encodings and shapes that stop the upload ------------------------------------------------


def test_a_utf8_bom_is_not_part_of_the_first_column(imported, project):
    imp = imported("\ufeffsource_id,email\r\nc-1,Ann@Example.com\r\n")
    assert imp.header == ["source_id", "email"]
    assert imp.mapping == ["source_id", "email"]
    assert imp.result_counts == {"total": 1, "new": 1, "updated": 0, "unchanged": 0, "invalid": 0}
    assert Customer.objects.get(project=project).email == "ann@example.com"


def test_semicolon_delimiter_is_sniffed(imported, project):
    imp = imported("source_id;name;city\nc-1;Anna Nowak;Kraków\nc-2;Jan, Jr;Łódź\n")
    assert imp.delimiter == ";"
    assert imp.mapping == ["source_id", "name", "address_city"]
    names = dict(Customer.objects.filter(project=project).values_list("source_id", "name"))
    assert names == {"c-1": "Anna Nowak", "c-2": "Jan, Jr"}


def test_quoted_newlines_keep_the_line_numbers_of_the_file(checked, apply, project):
    data = (
        "source_id,description,email\n"
        'c-1,"first line\nsecond line",ann@example.com\n'  # lines 2-3
        "c-2,short,not-an-email\n"  # line 4
        'c-3,"a\n\nb",also bad\n'  # lines 5-7
        "c-4,ok,d@example.com\n"  # line 8
    )
    imp = checked(data)
    assert [(line, column) for line, column, _ in issues(imp)] == [(4, "email"), (5, "email")]
    apply(imp)
    described = Customer.objects.get(project=project, source_id="c-1").description
    assert described == "first line\nsecond line"


def test_latin1_file_names_the_byte_and_the_line(upload):
    data = "source_id,name\nc-1,Ann\nc-2,Café\n".encode("latin-1")
    message = refused(upload, data)
    assert message == (
        "The file is not UTF-8: byte 0xE9 on line 3; save it as “CSV UTF-8” and upload it again."
    )


def test_utf16_files_are_refused_with_or_without_bom(upload):
    assert "The file is UTF-16, not UTF-8" in refused(upload, "source_id\nc-1\n".encode("utf-16"))
    message = refused(upload, "source_id\nc-1\n".encode("utf-16-le"))
    assert "NUL bytes (line 1)" in message
    assert "UTF-16" in message


def test_empty_file_and_header_only_file_are_refused(upload):
    assert refused(upload, b"") == "The file is empty."
    assert refused(upload, b"\n\n") == "The file is empty."
    assert refused(upload, "source_id,email\n") == "The file has a header row but no data rows."
    assert refused(upload, "source_id,email\n\n  \n") == (
        "The file has a header row but no data rows."
    )


def test_other_file_types_are_refused(upload):
    assert "Upload a .csv file" in refused(upload, b"source_id\n1\n", name="customers.pdf")
    assert ".xls) files are not supported" in refused(
        upload, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", name="old.csv"
    )


def test_missing_source_id_column_is_a_mapping_error(upload):
    imp = upload("name,email\nAnn,ann@example.com\n")
    with pytest.raises(ApplicationError) as info:
        import_set_mapping(imp=imp, mapping=imp.mapping)
    assert info.value.extra["errors"] == [
        "The file needs a source_id column (none is mapped to it)."
    ]


def test_required_columns_of_skus_and_orders(upload):
    sku = upload("source_id,sku\ns-1,Red\n", kind="skus")
    with pytest.raises(ApplicationError, match="needs a product_source_id column"):
        import_set_mapping(imp=sku, mapping=sku.mapping)
    order = upload("source_id,customer_source_id\no-1,c-1\n", kind="orders")
    with pytest.raises(ApplicationError) as info:
        import_set_mapping(imp=order, mapping=order.mapping)
    assert info.value.extra["errors"] == [
        "The file needs a status column (none is mapped to it).",
        "The file needs a amount or items column.",
    ]


# --- row problems: line numbers, columns, reasons ---------------------------------------------


def test_duplicate_source_id_names_both_lines(checked):
    imp = checked("source_id,name\nc-1,Ann\nc-2,Bob\nc-1,Ann again\n")
    assert issues(imp) == [(4, "source_id", "duplicate source_id “c-1”: line 2 has it too")]
    assert imp.dry_run_counts == {"total": 3, "new": 2, "updated": 0, "unchanged": 0, "invalid": 1}


def test_bad_email_and_bad_date_use_the_customer_rules(checked):
    imp = checked(
        "source_id,E-mail,Birthday\n"
        "c-1,ann@example,1990-02-30\n"
        "c-2,bob@example.com,31.12.1990\n"
        "c-3,,\n"
    )
    assert imp.mapping == ["source_id", "email", "birthdate"]
    assert issues(imp) == [
        (2, "E-mail", "“ann@example” is not a valid email address"),
        (2, "Birthday", "“1990-02-30” is not a date; use YYYY-MM-DD"),
        (3, "Birthday", "“31.12.1990” is not a date; use YYYY-MM-DD"),
    ]


def test_too_long_values_are_rejected_not_cut(checked):
    imp = checked(
        f"source_id,name,postal_code\n{'s' * 256},Ann,00-001\nc-2,{'n' * 256},{'9' * 33}\n"
    )
    assert issues(imp) == [
        (2, "source_id", "is longer than 255 characters"),
        (3, "name", "is longer than 255 characters"),
        (3, "postal_code", "is longer than 32 characters"),
    ]


def test_missing_source_id_value_is_a_row_error(checked):
    imp = checked("source_id,name\n,Ann\n  ,Bob\nc-3,Cid\n")
    assert issues(imp) == [
        (2, "source_id", "is required (rows are matched by source_id)"),
        (3, "source_id", "is required (rows are matched by source_id)"),
    ]


def test_rows_with_too_many_or_too_few_cells(checked):
    imp = checked("source_id,name,email\nc-1,Ann\nc-2,Bob,b@example.com,=1+1\n\nc-3,Cid,\n,,\n")
    assert issues(imp) == [
        (2, "", "has 2 cells but the header has 3"),
        (3, "", "has 4 cells but the header has 3 (extra: =1+1)"),
    ]
    # blank lines and rows of empty cells are not rows
    assert imp.dry_run_counts["total"] == 3


def test_unknown_columns_become_metadata(imported, project):
    imp = imported("source_id,Loyalty tier,metadata.vip,object\nc-1,Gold,yes,customer\n")
    assert imp.mapping == ["source_id", "metadata.Loyalty_tier", "metadata.vip", ""]
    customer = Customer.objects.get(project=project)
    assert customer.metadata == {"Loyalty_tier": "Gold", "vip": "yes"}


def test_metadata_schema_required_key_and_types(checked, project):
    # given a schema: tier is required, points a number, vip a boolean
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={
            "tier": {"type": "string", "optional": False, "allowed": ["Gold", "Silver"]},
            "points": {"type": "number"},
            "vip": {"type": "boolean"},
        },
        allow_defined_only=False,
    )
    # when
    imp = checked(
        "source_id,metadata.tier,metadata.points,metadata.vip\n"
        "c-1,Gold,12,yes\n"
        "c-2,,7,no\n"
        "c-3,Bronze,many,maybe\n"
    )
    # then values are coerced by type, and each violation names its column
    assert issues(imp) == [
        (3, "metadata.tier", "is required"),
        (4, "metadata.tier", "must be one of Gold, Silver (got 'Bronze')"),
        (4, "metadata.points", "must be a number (got 'many')"),
        (4, "metadata.vip", "must be true or false (got 'maybe')"),
    ]
    assert imp.dry_run_counts["invalid"] == 2


def test_required_metadata_key_without_a_column(checked, project):
    # given a required key the file has no column for
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={"tier": {"type": "string", "optional": False}},
        allow_defined_only=False,
    )
    CustomerFactory(project=project, source_id="old", metadata={"tier": "Gold"})
    # when
    imp = checked("source_id,name\nold,Ann\nnew,Bob\n")
    # then existing customers keep theirs; new ones would lack it
    assert issues(imp) == [(3, "metadata.tier", "is required (the file has no column for it)")]


def test_formula_cells_in_rejected_rows_are_escaped(imported):
    imp = imported(
        "source_id,name,email\n"
        'c-1,=HYPERLINK("http://evil"),bad\n'
        "c-2,Fine,ok@example.com\n"
        "+c-3,@SUM(A1),-bad\n"
    )
    assert imp.status == ImportStatus.DONE
    assert imp.result_counts["invalid"] == 2
    lines = rejected_text(imp).splitlines()
    assert lines == [
        "source_id,name,email,error",
        'c-1,"\'=HYPERLINK(""http://evil"")",bad,email: “bad” is not a valid email address',
        "'+c-3,'@SUM(A1),'-bad,email: “-bad” is not a valid email address",
    ]


def test_xlsx_upload_is_converted_and_numbered_by_spreadsheet_row(checked, apply, project):
    # given a workbook with a blank row and typed cells
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["source_id", "name", "email", "birthdate"])
    sheet.append(["c-1", "Ann", "ann@example.com", None])
    sheet.append([])
    sheet.append([1002, "Bob", "nope", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    # when
    imp = checked(buffer.getvalue(), name="customers.xlsx")
    # then
    assert imp.file_format == "xlsx"
    assert issues(imp) == [(4, "email", "“nope” is not a valid email address")]
    apply(imp)
    assert Customer.objects.get(project=project).source_id == "c-1"
