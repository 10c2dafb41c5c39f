"""Every report's markdown is what its module renders from the report's JSON, byte for byte."""
import pytest

from lab.reports import RENDERED_BY, REPORTS, rendered


@pytest.mark.parametrize("name", sorted(RENDERED_BY))
def test_report_regenerates_from_its_json(name):
    assert rendered(name) == (REPORTS / name).with_suffix(".md").read_text()


def test_every_report_is_known():
    """A new report is rendered from its JSON too."""
    markdown = {str(p.relative_to(REPORTS).with_suffix("")) for p in REPORTS.rglob("*.md")}
    assert markdown == set(RENDERED_BY)
    assert all((REPORTS / name).with_suffix(".json").is_file() for name in RENDERED_BY)
