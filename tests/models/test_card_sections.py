"""Benchmark sections of the model card survive its regeneration and replace themselves."""

from __future__ import annotations

from models.card import EXTERNAL_MARK, keep_external, with_section


def test_a_section_replaces_its_earlier_version_and_keeps_the_others():
    card = "# Card\n\n## Backtest\n\nold numbers\n"
    once = with_section(card, "## On real data: CDNOW", "first run")
    twice = with_section(with_section(once, "## Other data", "o"),
                         "## On real data: CDNOW", "second run")
    assert twice.count(EXTERNAL_MARK) == 1
    assert "first run" not in twice and "second run" in twice and "## Other data" in twice
    assert twice.startswith(card.rstrip("\n"))


def test_regenerating_the_card_keeps_the_benchmark_sections():
    previous = with_section("# Card\n\n## Backtest\n\nold\n", "## On real data: CDNOW",
                            "table")
    fresh = keep_external("# Card\n\n## Backtest\n\nnew\n", previous)
    assert "new" in fresh and "old" not in fresh
    assert fresh.endswith(previous[previous.index(EXTERNAL_MARK):])
    assert keep_external("# Card\n", None) == "# Card\n"
    assert keep_external("# Card\n", "# Old card without sections\n") == "# Card\n"
