"""`{{ code|indicator_label }}`: an assessment indicator's Chinese name (poll or business)."""

from django import template

from minyi.assessment.services import indicator_label as _indicator_label

register = template.Library()


@register.filter
def indicator_label(code):
    return _indicator_label(code)


@register.filter
def figure_rate(figure):
    """numerator / denominator of a BusinessFigure, None when the denominator is 0."""
    return figure.numerator / figure.denominator if figure.denominator else None
