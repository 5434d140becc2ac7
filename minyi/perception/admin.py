"""Admin (系统配置) for perception: the city's business types (业务类型)."""

from django.contrib import admin

from minyi.orgs.admin import ScopedAdmin, admin_site
from minyi.perception.models import BusinessType


@admin.register(BusinessType, site=admin_site)
class BusinessTypeAdmin(ScopedAdmin):
    scope_prefix = None
    global_config = True
    list_display = [
        "code",
        "name",
        "category",
        "is_sensitive",
        "survey_enabled",
        "rectification_days",
    ]
    list_filter = ["category", "is_sensitive", "survey_enabled"]
    search_fields = ["code", "name"]
