"""The README stays true: its settings table is the one the code defines."""

from pathlib import Path

from shared.settings import settings_table

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_lists_every_setting_with_its_default_exactly_as_the_code_defines_them() -> None:
    assert settings_table() in README.read_text(encoding="utf-8"), "paste the output of `thidua settings`"
