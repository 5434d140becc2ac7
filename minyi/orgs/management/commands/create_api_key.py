from django.core.management.base import BaseCommand, CommandError

from minyi.core.errors import ApplicationError
from minyi.orgs.models import OrgUnit, User
from minyi.orgs.services import apikey_create


class Command(BaseCommand):
    help = "Create an integration API key scoped to a unit's subtree; prints the key once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the integrating system, e.g. '110 接处警系统'")
        parser.add_argument("unit_code", help="code of the unit whose subtree it may report for")
        parser.add_argument("--by", default=None, help="username of the administrator")

    def handle(self, *args, name, unit_code, by, **options):
        unit = OrgUnit.objects.filter(code=unit_code).first()
        if unit is None:
            raise CommandError(f"no unit with code {unit_code!r}")
        actor = User.objects.filter(username__iexact=by).first() if by else None
        if actor is None:
            actor = User(is_superuser=True, username="manage.py")  # the operator on the shell
        try:
            api_key, key = apikey_create(actor=actor, name=name, unit=unit)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"{api_key.name} → {unit.name}\n{key}")
