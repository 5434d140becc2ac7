"""Permission-matrix cases: the staff pages of service reminders (办事提醒). The owner is
station a2: its due item (label 浙A·***A2) and its reminder, and a2's import file; a sibling
station's staff must neither list nor open them. Templates are city-wide (no unit's data):
stations read them, only the city bureau edits them."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.orgs.roles import Perm

LABEL = "浙A·***A2"
FILE = "甲二所到期事项.csv"


def _sent(world):
    from minyi.reminders.models import DueItem
    from minyi.reminders.sending import reminders_send_due
    from minyi.reminders.tests.factories import MORNING, make_item, make_template

    if not DueItem.objects.filter(item_label=LABEL).exists():
        make_template(leads="7")
        make_item(world.station_a2, external_id="perm-a2", due_in=7, label=LABEL)
        reminders_send_due(now=MORNING)
    return LABEL


def _import_file(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from minyi.core.models import ImportFile
    from minyi.orgs.choices import Role
    from minyi.reminders.items import items_file_upload

    record = ImportFile.objects.filter(filename=FILE).first()
    if record is None:
        record = items_file_upload(
            actor=world.user("a2", Role.SUPERVISOR),
            upload=SimpleUploadedFile(
                FILE, "事项编号,提醒类型,单位代码,手机号码,事项,到期日期\n".encode()
            ),
        )
    return record


def _file_marker(world):
    _import_file(world)
    return FILE


CASES = {
    "reminders:item_list": Case(
        Perm.REMINDER_VIEW, lambda w: reverse("reminders:item_list"), _sent
    ),
    "reminders:send_list": Case(
        Perm.REMINDER_VIEW, lambda w: reverse("reminders:send_list"), _sent
    ),
    "reminders:template_list": Case(
        Perm.REMINDER_MANAGE, lambda w: reverse("reminders:template_list"), None
    ),
    # Templates are city-wide: a station's manager (owner and sibling alike) reads the list
    # but may not edit; the city bureau's editing is in test_views.
    "reminders:template_edit": Case(
        Perm.REMINDER_MANAGE,
        lambda w: reverse("reminders:template_edit", args=["vehicle_inspection"]),
        None,
        owner_status=403,
        sibling_status=403,
    ),
    "reminders:item_import": Case(
        Perm.REMINDER_MANAGE, lambda w: reverse("reminders:item_import"), _file_marker
    ),
    "reminders:import_detail": Case(
        Perm.REMINDER_MANAGE,
        lambda w: reverse("reminders:import_detail", args=[_import_file(w).pk]),
        _file_marker,
        detail=True,
    ),
    "reminders:import_confirm": Case(
        Perm.REMINDER_MANAGE,
        lambda w: reverse("reminders:import_confirm", args=[_import_file(w).pk]),
        _file_marker,
        method="post",
        detail=True,
        owner_status=302,
    ),
}
