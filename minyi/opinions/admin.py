"""Admin (系统配置) for opinions: the answer deadlines (答复期限)."""

from django.contrib import admin

from minyi.opinions.models import OpinionPolicy
from minyi.orgs.admin import ScopedAdmin, admin_site


@admin.register(OpinionPolicy, site=admin_site)
class OpinionPolicyAdmin(ScopedAdmin):
    """答复期限: working days a unit has to answer each kind of opinion."""

    scope_prefix = None
    global_config = True
    list_display = ["kind", "answer_days"]
