"""`manage.py export_citizen_data MOBILE --operator NAME [--output FILE]`: the access-request
export for the operator (whole database), audited as a reveal under the operator's name."""

from django.core.management.base import BaseCommand, CommandError

from minyi.core.errors import ApplicationError
from minyi.privacy.export import citizen_data_export, export_json


class Command(BaseCommand):
    help = "Export everything held about one mobile number (PIPL access request), as JSON."

    def add_arguments(self, parser):
        parser.add_argument("mobile")
        parser.add_argument("--operator", required=True, help="who runs it, for the audit log")
        parser.add_argument("--output", help="write to this file instead of standard output")

    def handle(self, *args, mobile, operator, output=None, **options):
        try:
            export = citizen_data_export(
                actor=None, mobile=mobile, username=f"manage.py:{operator}"[:150]
            )
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        text = export_json(export)
        if output:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            self.stdout.write(text)
