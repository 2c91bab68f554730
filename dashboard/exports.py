"""Spreadsheet-safe exports: every CSV and XLSX file the dashboard writes goes through here.

A cell whose text begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula
by spreadsheet programs, so a patient named `=HYPERLINK("http://x","y")` would become a live link
(or worse) in the file a receptionist opens. OWASP's CSV-injection advice: prefix such text with
a single quote, which makes the program show it as text. Only strings are escaped: numbers stay
numbers, and so does text that is nothing but a plain decimal number (`-3`, `+1.5`), which no
program reads as anything else.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable

from django.http import HttpResponse
from django_tables2.export.export import TableExport

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def neutralise(value):
    """`value` as a spreadsheet shows it as data: formula-like text gets a leading `'`."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def neutralise_row(row: Iterable) -> list:
    return [neutralise(value) for value in row]


class SafeTableExport(TableExport):
    """django-tables2's export with every cell (headers included) neutralised."""

    def table_to_dataset(self, table, exclude_columns, dataset_kwargs=None):
        dataset = super().table_to_dataset(table, exclude_columns, dataset_kwargs)
        if dataset.headers:
            dataset.headers = neutralise_row(dataset.headers)
        for index, row in enumerate(dataset):
            dataset[index] = neutralise_row(row)
        return dataset


def csv_response(rows: Iterable[Iterable], filename: str) -> HttpResponse:
    """A CSV download of `rows` (the first is the header); None is an empty cell."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    for row in rows:
        writer.writerow(neutralise_row("" if value is None else value for value in row))
    return response
