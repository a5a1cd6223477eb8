"""The suite's own wiring: the expensive shared copies are built once per run."""

from __future__ import annotations

import pytest
from conftest import SHARED_COPIES


def test_every_test_using_a_shared_copy_runs_in_that_copys_group(request):
    """A test that reaches a shared copy, directly or through another fixture, without its
    xdist group runs on whichever worker is free, and that worker builds the copy again
    (20-45 s): the test_outcomes tests once did, unmarked."""
    users = 0
    for item in request.session.items:
        groups = {mark.args[0] for mark in item.iter_markers("xdist_group")}
        for fixture, group in SHARED_COPIES.items():
            if fixture in item.fixturenames:
                users += 1
                assert group in groups, f"{item.nodeid} uses {fixture} outside group {group!r}"
    if not users:
        pytest.skip("no collected test uses a shared copy (run with the suite to check them)")
