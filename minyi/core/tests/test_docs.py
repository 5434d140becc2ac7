"""The examples in docs/integration.md work against the demo city as printed: a newcomer who
copies them gets an accepted item, not `unknown_business_type`."""

import re
from pathlib import Path

from django.conf import settings

from minyi.demo.city import BUSINESS_TYPES
from minyi.demo.city_plan import plan_city

DOC = (Path(settings.BASE_DIR) / "docs" / "integration.md").read_text(encoding="utf-8")


def test_business_types_in_the_examples_exist_in_the_demo():
    used = set(re.findall(r'"business_type":\s*"([^"]+)"', DOC))
    assert used
    assert used <= {row[0] for row in BUSINESS_TYPES}


def test_units_and_officers_in_the_examples_exist_in_the_demo():
    plan = plan_city()
    units = {u.code for u in plan.units}
    officers = {o.police_number: o.unit_code for o in plan.officers}
    for code in re.findall(r'"(?:unit|unit_code)":\s*"([^"]+)"', DOC):
        assert code in units, code
    for block in re.findall(r'"officers":\s*\[([^\]]*)\]', DOC):
        for number in re.findall(r'"(\d+)"', block):
            assert number in officers, number
