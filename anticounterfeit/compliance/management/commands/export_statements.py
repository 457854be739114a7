import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from anticounterfeit.compliance import dsa_rules
from anticounterfeit.compliance.actions import export_rows


class Command(BaseCommand):
    help = ("Write the statements of reasons as JSON Lines, one Transparency Database statement object per line "
            "(each validated against the API's rules on the way out).")

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="the .jsonl file to write ('-' = standard output)")
        parser.add_argument("--since", type=date.fromisoformat, help="only decisions on or after this day (YYYY-MM-DD)")

    def handle(self, *, out: str, since: date | None, **options):

        count = 0
        stream = self.stdout if out == "-" else open(out, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        try:
            for row in export_rows(since=since).iterator():
                try:
                    payload = dsa_rules.check(row.payload)
                except dsa_rules.StatementInvalid as exc:
                    raise CommandError(f"{row.puid}: {exc}") from exc
                stream.write(json.dumps(payload, ensure_ascii=False) + "\n")
                count += 1
        finally:
            if stream is not self.stdout:
                stream.close()
        self.stderr.write(f"{count} statement(s) written to {out}")
