"""Whether a file name is the one Alembic's file_template gives a revision id (SL532's test):
the template's text and the id where it says, anything where its other tokens are."""

from __future__ import annotations

import pytest

from schemalens.analyzers.rules.migrations.revision_id_mismatch import named_after

DATED = "%(year)d_%(month).2d_%(day).2d_%(hour).2d%(minute).2d-%(rev)s_%(slug)s"


@pytest.mark.parametrize("template, revision_id, stem, expected", [
    ("%(rev)s_%(slug)s", "a1b2", "a1b2_add_orders", True),
    ("%(rev)s_%(slug)s", "a1b2", "a1b2_", True),  # an empty message
    ("%(rev)s_%(slug)s", "a1b2", "c3d4_add_orders", False),
    ("%(rev)s_%(slug)s", "0001_init", "0001_init_add_orders", True),  # an id with the separator in it
    ("%(rev)s_%(slug)s", "0001_init", "0001_add_orders", False),
    (DATED, "a1b2", "2024_01_05_0930-a1b2_add_orders", True),
    (DATED, "a1b2", "2024_01_05_0930-c3d4_a1b2_add_orders", False),  # the id in the slug, not where the template puts it
    (DATED, "a1b2", "2024_01_05-a1b2_add_orders", False),  # fewer separators than the template's
    ("%(slug)s_%(rev)s", "a1", "add_a1_index_a1", True),  # the id last, after a slug that holds it
    ("%(slug)s_%(rev)s", "a1", "add_a1_index", False),
    ("%(rev)s", "a1", "a1", True),
    ("%(rev)s", "a1", "a1_x", False),
    ("fixed", "a1", "fixed", True),
])
def test_a_file_name_is_matched_against_the_template(template: str, revision_id: str, stem: str, expected: bool):
    assert named_after(template, revision_id, stem) is expected
