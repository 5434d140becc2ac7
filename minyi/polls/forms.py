"""Forms of the poll staff pages: a new wave, and the upload of a file to import."""

from django import forms
from django.utils.translation import gettext_lazy as _

from minyi.orgs.choices import UnitKind
from minyi.orgs.selectors import orgunit_list_visible_to

BUREAU_KINDS = (UnitKind.CITY_BUREAU, UnitKind.DISTRICT_BUREAU)


class PollForm(forms.Form):
    title = forms.CharField(label=_("测评名称"), max_length=60)
    unit = forms.ModelChoiceField(label=_("测评范围"), queryset=None, empty_label=None)
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    wave = forms.IntegerField(label=_("轮次"), min_value=1, max_value=12)
    fielded_from = forms.DateField(
        label=_("调查开始"), widget=forms.DateInput(attrs={"type": "date"})
    )
    fielded_to = forms.DateField(
        label=_("调查结束"), widget=forms.DateInput(attrs={"type": "date"})
    )
    pollster = forms.CharField(label=_("测评机构"), max_length=60, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # A wave covers a bureau's units (the city's, or a district's).
        self.fields["unit"].queryset = orgunit_list_visible_to(user).filter(kind__in=BUREAU_KINDS)
        self.fields["unit"].label_from_instance = lambda unit: unit.name

    def clean(self):
        data = super().clean()
        start, end = data.get("fielded_from"), data.get("fielded_to")
        if start and end and end < start:
            self.add_error("fielded_to", _("调查结束日期不能早于开始日期。"))
        return data


class UploadForm(forms.Form):
    file = forms.FileField(label=_("CSV 或 Excel（.xlsx）文件"))
