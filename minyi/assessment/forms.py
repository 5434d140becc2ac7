"""Forms of the assessment pages. They collect and check what a person typed; the services
decide (and check the same rules again: `rule_weights_check` is the one rule for weights)."""

from decimal import Decimal

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from minyi.assessment.models import (
    COMPUTED_CODES,
    AssessmentRule,
    BusinessCode,
    Direction,
    RuleStatus,
)
from minyi.assessment.selectors import units_under
from minyi.assessment.services import IndicatorSpec, rule_weights_check
from minyi.core.errors import ApplicationError
from minyi.orgs.models import OrgUnit, PeerGroup
from minyi.orgs.selectors import scope_q
from minyi.polls.models import Indicator, Poll

# Every indicator a rule may use, poll indicators first: (code, label, is_poll).
RULE_INDICATORS = [(i.value, i.label, True) for i in Indicator] + [
    (c.value, c.label, False) for c in BusinessCode
]


class RuleForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    peer_groups = forms.ModelMultipleChoiceField(
        label=_("同类单位组"),
        queryset=PeerGroup.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请至少选择一个同类单位组。")},
    )
    min_n_eff = forms.IntegerField(
        label=_("末位认定最小有效样本量"), min_value=30, max_value=100_000, initial=300
    )
    p_bottom3_gate = forms.FloatField(
        label=_("末三位概率门槛"), min_value=0.51, max_value=1, initial=0.8
    )
    z_gate = forms.FloatField(label=_("调整 z 门槛"), min_value=1.96, max_value=6, initial=3.09)
    note = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, owner: OrgUnit, rule: AssessmentRule | None = None, **kwargs):
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = _rule_initial(rule)
        super().__init__(*args, **kwargs)
        self.fields["peer_groups"].queryset = PeerGroup.objects.filter(owner=owner).order_by("name")
        self.rows = []
        for code, label, is_poll in RULE_INDICATORS:
            weight = forms.DecimalField(
                label=label,
                required=False,
                min_value=Decimal(0),
                max_value=Decimal(1),
                max_digits=4,
                decimal_places=3,
                widget=forms.NumberInput(attrs={"step": "0.001", "inputmode": "decimal"}),
            )
            direction = forms.ChoiceField(
                label=_("方向"),
                choices=Direction.choices,
                initial=Direction.HIGHER,
                required=False,  # an unused indicator's direction is never read
            )
            self.fields[f"weight_{code}"] = weight
            self.fields[f"direction_{code}"] = direction
            self.rows.append(
                {
                    "code": code,
                    "label": label,
                    "is_poll": is_poll,
                    "computed": code in COMPUTED_CODES,
                    "weight": self[f"weight_{code}"],
                    "direction": self[f"direction_{code}"],
                }
            )

    def clean(self):
        data = super().clean()
        specs = [
            IndicatorSpec(
                code=code,
                weight=data[f"weight_{code}"],
                direction=data.get(f"direction_{code}") or Direction.HIGHER,
            )
            for code, _label, _poll in RULE_INDICATORS
            if data.get(f"weight_{code}")
        ]
        if any(f"weight_{code}" in self.errors for code, _l, _p in RULE_INDICATORS):
            return data
        try:
            data["public_weight"] = rule_weights_check(specs)
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message), code=exc.code) from None
        data["indicators"] = specs
        return data


def _rule_initial(rule: AssessmentRule) -> dict:
    initial = {
        "year": rule.year,
        "peer_groups": list(rule.peer_groups.all()),
        "min_n_eff": rule.min_n_eff,
        "p_bottom3_gate": rule.p_bottom3_gate,
        "z_gate": rule.z_gate,
        "note": rule.note,
    }
    for indicator in rule.indicators.all():
        initial[f"weight_{indicator.code}"] = indicator.weight
        initial[f"direction_{indicator.code}"] = indicator.direction
    return initial


class PeerGroupForm(forms.Form):
    name = forms.CharField(label=_("同类组名称"), max_length=60)
    members = forms.ModelMultipleChoiceField(
        label=_("成员单位"),
        queryset=OrgUnit.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请选择成员单位。")},
    )

    def __init__(self, *args, owner: OrgUnit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = units_under(owner)


class PeriodForm(forms.Form):
    period_start = forms.DateField(
        label=_("起始日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(
        label=_("截止日期"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", _("截止日期早于起始日期。"))
        return data


def polls_for(user):
    """Polls an assessment of the user's bureau may draw on: those of its subtree and those
    of the bureaus above it (a city-wide poll covers a district)."""
    q = scope_q(user, "unit__")
    if user.unit is not None:
        path = user.unit.path
        ancestors = [path[:i] for i in range(OrgUnit.steplen, len(path), OrgUnit.steplen)]
        q |= Q(unit__path__in=ancestors)
    return Poll.objects.filter(q).select_related("unit").order_by("-year", "-wave")


class AssessmentComputeForm(PeriodForm):
    rule = forms.ModelChoiceField(label=_("考评规则"), queryset=AssessmentRule.objects.none())
    label = forms.CharField(label=_("考评名称"), max_length=40, help_text=_("如：2026年上半年"))
    polls = forms.ModelMultipleChoiceField(
        label=_("纳入的民意测评"),
        queryset=Poll.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请至少选择一轮民意测评。")},
    )

    field_order = ["rule", "label", "period_start", "period_end", "polls"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = AssessmentRule.objects.filter(
            scope_q(user, "owner__"), status=RuleStatus.ACTIVE
        ).select_related("owner")
        self.fields["polls"].queryset = polls_for(user)


class UploadForm(forms.Form):
    """A business-figure file to keep and preview (read by core.imports after upload)."""

    file = forms.FileField(label=_("CSV 或 Excel（.xlsx）文件"))
