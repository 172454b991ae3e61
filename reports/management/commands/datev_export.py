"""``manage.py datev_export --from YYYY-MM-DD --to YYYY-MM-DD --output FILE``: the DATEV Buchungsstapel of the
transactions booked in the period (reports/datev.py), for the tax adviser."""

from __future__ import annotations

import datetime
import os

from django.core.management.base import BaseCommand, CommandError

from reports.datev import DatevExportError, datev_export


def _date(value: str, *, option: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise CommandError(
            f"{option} {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-01-31."
        ) from error


class Command(BaseCommand):
    help = (
        "Write the DATEV EXTF Buchungsstapel (Windows-1252, ';', CRLF) of the ledger's transactions booked "
        "from --from to --to (both included, one fiscal year at most) to --output."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="first day")
        parser.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD", help="last day")
        parser.add_argument("--output", required=True, metavar="FILE", help="the file to write")

    def handle(self, *args, start, end, output, **options):
        start_date = _date(start, option="--from")
        end_date = _date(end, option="--to")
        directory = os.path.dirname(os.path.abspath(output))
        if not os.path.isdir(directory):
            raise CommandError(f"The folder {directory} does not exist.")
        try:
            export = datev_export(start=start_date, end=end_date)
        except DatevExportError as error:
            raise CommandError(str(error)) from error
        with open(output, "wb") as file:
            file.write(export.content)
        for warning in export.warnings:
            self.stderr.write(self.style.WARNING(warning))
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {export.booking_count} bookings from {export.transaction_count} transactions "
                f"({start_date} to {end_date}) to {output}."
            )
        )
