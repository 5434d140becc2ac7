from django import template

from minyi.perception.models import ReasonTag

register = template.Library()


@register.filter
def reason_tag(code):
    """The Chinese label of a ReasonTag value stored in a JSON list."""
    return ReasonTag(code).label if code in ReasonTag.values else code
