"""Admin (系统配置) for the officer directory: each officer's public card, its QR code and
its photo, scoped to the administrator's subtree like every other admin page."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from minyi.core.errors import ApplicationError
from minyi.core.uploads import JPEG, PNG, check_uploads
from minyi.directory.models import OfficerCard
from minyi.orgs.admin import ScopedAdmin, admin_site
from minyi.orgs.selectors import officer_list_visible_to


class OfficerCardForm(forms.ModelForm):
    """The photo is judged by its first bytes (JPG or PNG only) and stored under the card's
    code, so neither the uploader's file name nor a disguised file reaches citizens."""

    MAX_PHOTO_BYTES = 2 * 2**20

    class Meta:
        model = OfficerCard
        fields = ["officer", "photo"]

    def clean(self):
        data = super().clean()
        photo = data.get("photo")
        if photo is False:  # "clear" ticked
            self.instance.photo_type = ""
        elif photo is not None and hasattr(photo, "content_type"):  # a new upload
            try:
                [(upload, content_type, suffix)] = check_uploads(
                    [photo],
                    kinds=(JPEG, PNG),
                    max_files=1,
                    max_bytes=self.MAX_PHOTO_BYTES,
                    field="photo",
                    too_many=_("只能上传 %(n)d 张照片。"),
                    wrong_type=_("照片“%(name)s”不是 JPG 或 PNG 图片。"),
                )
            except ApplicationError as exc:
                self.add_error("photo", str(exc.message))
                return data
            upload.name = f"{self.instance.code}{suffix}"
            self.instance.photo_type = content_type
        return data


@admin.register(OfficerCard, site=admin_site)
class OfficerCardAdmin(ScopedAdmin):
    """民警信息卡: the QR code of an officer's public card and its photo. The code is fixed
    once made (it is printed); the card stays with its officer."""

    form = OfficerCardForm
    scope_prefix = "officer__unit__"
    list_display = ["officer", "unit", "code"]
    list_select_related = ["officer__unit"]
    search_fields = ["officer__name", "officer__police_number", "code"]
    readonly_fields = ["code"]

    @admin.display(description=_("所属单位"), ordering="officer__unit__path")
    def unit(self, card):
        return card.officer.unit

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "officer"] if obj is not None else self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "officer":
            kwargs["queryset"] = officer_list_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
