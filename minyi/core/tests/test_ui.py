"""The console list helper (minyi.core.ui): the tab from the query string, counts on tabs, the
page of rows."""

from django.test import RequestFactory

from minyi.core.ui import ALL, Tabs, console_list

TABS = Tabs(choices=(("open", "待办"), (ALL, "全部"), ("closed", "已办结")), default="open")


def _get(query: str = ""):
    return RequestFactory().get(f"/list/?{query}")


def test_the_tab_comes_from_the_query_string_and_falls_back_to_the_default():
    assert TABS.current(_get("status=closed")) == "closed"
    assert TABS.current(_get()) == "open"
    assert TABS.current(_get("status=nonsense")) == "open"


def test_the_all_tab_filters_nothing():
    assert TABS.filter_value(ALL) == ""
    assert TABS.filter_value("closed") == "closed"


def test_a_list_context_has_the_page_the_tabs_with_counts_and_the_current_tab():
    context = console_list(
        _get("status=closed&page=2"),
        list(range(120)),
        tabs=TABS,
        current="closed",
        counts={"open": 3, ALL: 120, "closed": 117},
    )
    assert context["status"] == "closed"
    assert [(t["value"], t["count"], t["active"]) for t in context["tabs"]] == [
        ("open", 3, False),
        (ALL, 120, False),
        ("closed", 117, True),
    ]
    assert context["page"].number == 2
    assert context["page"].object_list[:2] == [50, 51]
