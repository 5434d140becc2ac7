"""Staff pages of 跑多次 into rectification (流转整改): the rules (REPEAT_RULE_MANAGE) and the
referrals they made (DASHBOARD_VIEW, the user's subtree). Thin: repeat_rules.py does the work."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minyi.core.errors import ApplicationError, NotFound
from minyi.core.ui import page_of
from minyi.dashboards import conf
from minyi.dashboards.models import RepeatAction, RepeatRule
from minyi.dashboards.repeat_rules import (
    RULE_FIELDS,
    repeat_referrals_visible_to,
    repeat_rule_get_visible,
    repeat_rule_save,
    repeat_rules_visible_to,
)
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import orgunit_list_visible_to
from minyi.perception.models import BusinessType

ROUTES = (
    ("", gettext_lazy("全部")),
    (RepeatAction.CALLBACK.value, gettext_lazy("跑多次回访")),
    (RepeatAction.WORK_ORDER.value, gettext_lazy("流转整改")),
    ("no_route", gettext_lazy("无联系途径")),
)


class RepeatRuleForm(forms.ModelForm):
    """The rule's fields; the service checks them again (and the unit's scope)."""

    class Meta:
        model = RepeatRule
        fields = RULE_FIELDS

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = orgunit_list_visible_to(user)
        self.fields["unit"].help_text = _("规则适用于该单位及其下级单位最近一次办理的跑多次。")
        self.fields["business_type"].queryset = BusinessType.objects.filter(
            is_sensitive=False
        ).order_by("name")
        self.fields["business_type"].empty_label = _("全部业务")
        self.fields["min_trips"].help_text = _(
            "同一群众同一业务在统计天数内办理达到该次数即流转（至少 2 次）。"
        )
        self.fields["window_days"].help_text = _("不超过 %(days)d 天。") % {
            "days": conf.repeat_window().days
        }
        self.fields["action"].help_text = _(
            "跑多次回访：由民意感知中心致电群众了解多次往返的原因；流转整改：直接向最近一次办理的单位派发整改工单。"
        )


@staff_view(Perm.REPEAT_RULE_MANAGE)
def repeat_rules(request):
    """The rules of the user's subtree, and one form: a new rule, or `?rule=<id>` to edit."""
    rules = repeat_rules_visible_to(request.user)
    pk = request.GET.get("rule", "")
    if pk and not pk.isdigit():
        raise NotFound()
    rule = repeat_rule_get_visible(request.user, pk) if pk else None
    initial = {} if rule else {"unit": request.user.unit_id, "min_trips": 3, "window_days": 30}
    form = RepeatRuleForm(request.POST or None, instance=rule, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            repeat_rule_save(actor=request.user, rule=rule, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("跑多次规则已保存，对此后发现的跑多次生效。"))
            return redirect("dashboards:repeat_rules")
    return render(
        request,
        "dashboards/repeat_rules.html",
        {"rules": rules, "rule": rule, "form": form},
        status=400 if form.errors else 200,
    )


@staff_view(Perm.DASHBOARD_VIEW)
def repeat_referrals(request):
    """What the rules did: each citizen's trips referred, with the callback or work order."""
    route = request.GET.get("route", "")
    if route not in dict(ROUTES):
        route = ""
    page = page_of(request, repeat_referrals_visible_to(request.user, route=route))
    return render(
        request,
        "dashboards/repeat_referrals.html",
        {
            "page": page,
            "route": route,
            "routes": ROUTES,
            "can_callbacks": has_perm(request.user, Perm.CALLBACK_VIEW),
            "can_orders": has_perm(request.user, Perm.WORKORDER_VIEW),
            "can_rules": has_perm(request.user, Perm.REPEAT_RULE_MANAGE),
        },
    )
