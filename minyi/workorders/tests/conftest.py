"""Fixtures shared by the work-order service tests: station a2's leader, the 甲区 centre's
evaluator and supervisor, and an order found at fault."""

import pytest

from minyi.orgs.choices import Role
from minyi.workorders.services import workorder_accept
from minyi.workorders.tests.factories import at_fault_order


@pytest.fixture
def leader(world):
    return world.user("a2", Role.UNIT_LEADER)


@pytest.fixture
def evaluator(world):
    return world.user("a", Role.EVALUATOR)


@pytest.fixture
def auditor(world):
    """A supervisor of the 甲区 centre, which made the call and audits the order."""
    return world.user("a", Role.SUPERVISOR)


@pytest.fixture
def order(world):
    return at_fault_order(world)


@pytest.fixture
def accepted(order, leader):
    return workorder_accept(actor=leader, order=order)
