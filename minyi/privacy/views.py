"""The staff page for a citizen's access request: a mobile number in, a JSON file out."""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from minyi.core.errors import ApplicationError
from minyi.orgs.access import staff_view
from minyi.privacy.export import EXPORT_PERMISSION, citizen_data_export, export_json


@staff_view(EXPORT_PERMISSION)
def citizen_export(request):
    error = None
    if request.method == "POST":
        try:
            export = citizen_data_export(
                actor=request.user, mobile=request.POST.get("mobile", ""), request=request
            )
        except ApplicationError as exc:
            error = exc.message
        except PermissionDenied:
            return render(request, "403.html", status=403)
        else:
            response = HttpResponse(
                export_json(export), content_type="application/json; charset=utf-8"
            )
            name = f"citizen-data-{timezone.localdate():%Y%m%d}.json"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            response["Cache-Control"] = "private, no-store"
            return response
    response = render(request, "privacy/citizen_export.html", {"error": error})
    response["Cache-Control"] = "private, no-store"
    return response
