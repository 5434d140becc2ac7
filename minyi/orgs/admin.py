"""Django admin (系统配置) for administrators, scoped to their subtree like every other page.

This module holds the site every app registers with (`admin_site`) and the base every
registration uses (`ScopedAdmin`); both live in orgs because scope and permission are the org
tree's. Each app's own admin.py registers its models; core's (calendar, audit log) are
registered here, since core may not import orgs.

Writes go through the same services as the console and API, so the admin cannot do what a
service would refuse (move a unit under its own child, reuse a username, escape the scope).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.models import AuditAction, AuditEvent, CalendarOverride, CalendarYear
from minyi.core.pii import lookup_hash, normalize_id_number, normalize_mobile
from minyi.orgs.models import ApiKey, Officer, OrgUnit, User
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import orgunit_list_visible_to, scope_q
from minyi.orgs.services import (
    apikey_create,
    apikey_revoke,
    officer_create,
    orgunit_create,
    orgunit_move,
    user_create,
)


class MinyiAdminSite(admin.AdminSite):
    site_header = _("民意 · 系统配置")
    site_title = _("民意系统配置")
    index_title = _("配置")

    def has_permission(self, request):
        user = request.user
        return user.is_active and has_perm(user, Perm.ADMIN_SITE) and user.is_verified()


admin_site = MinyiAdminSite(name="admin")


class ScopedAdmin(admin.ModelAdmin):
    """Rows outside the administrator's subtree do not exist here."""

    scope_prefix = "unit__"
    global_config = False  # True: one table for the whole city; only city-tier admins edit it

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if self.scope_prefix is None:
            return qs
        return qs.filter(scope_q(request.user, self.scope_prefix))

    def _allowed(self, request):
        if not has_perm(request.user, Perm.ADMIN_SITE):
            return False
        if self.global_config and not request.user.is_superuser:
            return request.user.unit is not None and request.user.unit.depth == 1
        return True

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: history points at these rows

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is OrgUnit:
            kwargs["queryset"] = orgunit_list_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            action=AuditAction.CHANGE if change else AuditAction.CREATE, request=request, obj=obj
        )


# --- orgs: units, officers, accounts, API keys ----------------------------------------------


class OrgUnitForm(forms.ModelForm):
    # The prompt is given here because admin modules are imported while Django starts, before
    # the console sets the project's prompt as every select's default (core/wording.py).
    parent = forms.ModelChoiceField(
        queryset=OrgUnit.objects.none(),
        required=False,
        label=_("上级单位"),
        empty_label=_("请选择…"),
    )

    class Meta:
        model = OrgUnit
        fields = [
            "name",
            "short_name",
            "code",
            "kind",
            "duty_phone",
            "address",
            "has_perception_centre",
            "is_active",
        ]

    actor = None  # set per request by OrgUnitAdmin.get_form

    def clean(self):
        data = super().clean()
        parent = data.get("parent")
        unit = self.instance
        is_root = unit.pk is not None and unit.depth == 1
        if parent is None and not is_root and not self.actor.is_superuser:
            self.add_error("parent", _("请选择上级单位。"))
        if parent is not None and unit.pk is not None and unit.contains(parent):
            self.add_error("parent", _("不能把单位移动到它自己或它的下级单位之下。"))
        return data


@admin.register(OrgUnit, site=admin_site)
class OrgUnitAdmin(ScopedAdmin):
    form = OrgUnitForm
    scope_prefix = ""
    list_display = [
        "indented_name",
        "code",
        "kind",
        "duty_phone",
        "has_perception_centre",
        "is_active",
    ]
    list_filter = ["kind", "has_perception_centre", "is_active"]
    search_fields = ["name", "code"]
    ordering = ["path"]

    @admin.display(description=_("单位名称"))
    def indented_name(self, unit):
        return "　" * (unit.depth - 1) + unit.name

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.base_fields["parent"].queryset = orgunit_list_visible_to(request.user)
        form.actor = request.user
        if obj is not None and obj.depth > 1:
            form.base_fields["parent"].initial = OrgUnit.objects.get_parent(obj)
        return form

    def save_form(self, request, form, change):
        return form.instance  # the service in save_model does the writing

    def save_related(self, request, form, formsets, change):
        pass  # no many-to-many fields; the service saved everything

    def _save_via_services(self, request, form, change):
        data = form.cleaned_data
        if not change:
            return orgunit_create(
                actor=request.user,
                parent=data["parent"],
                name=data["name"],
                code=data["code"],
                kind=data["kind"],
                short_name=data["short_name"],
                duty_phone=data["duty_phone"],
                address=data["address"],
                has_perception_centre=data["has_perception_centre"],
            )
        unit = form.instance
        if (
            data["parent"] is not None
            and unit.depth > 1
            and data["parent"] != OrgUnit.objects.get_parent(unit)
        ):
            unit = orgunit_move(actor=request.user, unit=unit, new_parent=data["parent"])
        OrgUnit.objects.filter(pk=unit.pk).update(**{f: data[f] for f in OrgUnitForm.Meta.fields})
        audit_record(action=AuditAction.CHANGE, request=request, obj=unit)
        return unit

    def save_model(self, request, obj, form, change):
        form.instance = self._save_via_services(request, form, change)


class OfficerForm(forms.ModelForm):
    new_mobile = forms.CharField(label=_("本人手机（填写则替换）"), required=False)
    new_id_number = forms.CharField(label=_("身份证号（填写则替换）"), required=False)

    class Meta:
        model = Officer
        fields = [
            "police_number",
            "name",
            "unit",
            "position",
            "is_public",
            "duty_phone",
            "communities",
            "is_active",
        ]

    def _normalize(self, field, normalize):
        value = self.cleaned_data.get(field, "")
        if not value:
            return ""
        try:
            return normalize(value)
        except ApplicationError as exc:
            raise ValidationError(str(exc.message)) from exc

    def clean_new_mobile(self):
        return self._normalize("new_mobile", normalize_mobile)

    def clean_new_id_number(self):
        return self._normalize("new_id_number", normalize_id_number)


@admin.register(Officer, site=admin_site)
class OfficerAdmin(ScopedAdmin):
    form = OfficerForm
    list_display = ["police_number", "name", "unit", "position", "is_public", "is_active"]
    list_filter = ["position", "is_public", "is_active"]
    search_fields = ["police_number", "name"]
    list_select_related = ["unit"]
    readonly_fields = ["mobile_masked", "id_number_masked"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            form.instance = officer_create(
                actor=request.user,
                unit=data["unit"],
                police_number=data["police_number"],
                name=data["name"],
                position=data["position"],
                is_public=data["is_public"],
                duty_phone=data["duty_phone"],
                communities=data["communities"],
                mobile=data["new_mobile"],
                id_number=data["new_id_number"],
            )
            return
        if data["new_mobile"]:
            obj.mobile, obj.mobile_hash = (
                data["new_mobile"],
                lookup_hash("mobile", data["new_mobile"]),
            )
        if data["new_id_number"]:
            obj.id_number = data["new_id_number"]
            obj.id_number_hash = lookup_hash("id", data["new_id_number"])
        super().save_model(request, obj, form, change)


class UserAddForm(forms.ModelForm):
    password = forms.CharField(label=_("初始密码"), widget=forms.PasswordInput, strip=False)

    class Meta:
        model = User
        fields = ["username", "full_name", "role", "unit"]

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("该用户名已被使用（不区分大小写）。"))
        return username

    def clean(self):
        data = super().clean()
        if data.get("password"):
            probe = User(username=data.get("username", ""), full_name=data.get("full_name", ""))
            try:
                validate_password(data["password"], probe)
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


class UserChangeForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "role", "unit", "is_active"]


@admin.register(User, site=admin_site)
class UserAdmin(ScopedAdmin):
    list_display = ["username", "full_name", "role", "unit", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["username", "full_name"]
    list_select_related = ["unit"]

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = UserAddForm if obj is None else UserChangeForm
        return super().get_form(request, obj, **kwargs)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(is_superuser=False)

    def save_model(self, request, obj, form, change):
        if not change:
            data = form.cleaned_data
            form.instance = user_create(
                actor=request.user,
                username=data["username"],
                password=data["password"],
                role=data["role"],
                unit=data["unit"],
                full_name=data["full_name"],
            )
            return
        super().save_model(request, obj, form, change)


class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "unit"]


@admin.register(ApiKey, site=admin_site)
class ApiKeyAdmin(ScopedAdmin):
    list_display = ["name", "prefix", "unit", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["unit"]
    readonly_fields = [
        "name",
        "unit",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ["name", "unit"]

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing on a key is editable; revoke with the list action
        form.instance, key = apikey_create(
            actor=request.user, name=form.cleaned_data["name"], unit=form.cleaned_data["unit"]
        )
        messages.warning(
            request,
            _("密钥只显示这一次，请立即复制并交给接入系统：%(key)s") % {"key": key},
        )

    @admin.action(description=_("吊销所选密钥（不可恢复）"))
    def revoke(self, request, queryset):
        count = sum(apikey_revoke(actor=request.user, api_key=key) for key in queryset)
        messages.success(request, _("已吊销 %(n)d 个密钥。") % {"n": count})


# --- core: the working-day calendar and the audit log (core cannot import this site) --------


@admin.register(CalendarOverride, site=admin_site)
class CalendarOverrideAdmin(ScopedAdmin):
    scope_prefix = None
    global_config = True
    list_display = ["day", "is_workday", "name"]
    date_hierarchy = "day"


@admin.register(CalendarYear, site=admin_site)
class CalendarYearAdmin(ScopedAdmin):
    scope_prefix = None
    global_config = True
    list_display = ["year", "complete"]


@admin.register(AuditEvent, site=admin_site)
class AuditEventAdmin(ScopedAdmin):
    scope_prefix = "actor_unit__"
    list_display = ["at", "actor_username", "actor_unit", "action", "outcome", "object_repr", "ip"]
    list_filter = ["action", "outcome"]
    search_fields = ["actor_username", "object_repr"]
    list_select_related = ["actor_unit"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
