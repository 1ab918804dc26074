"""The model card carries the notebook's summary section and links to the rest."""
import os

from lttw.model_card import notes_summary

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_summary_is_the_first_section_and_links_to_the_notebook():
    notes = "## Where it stands\n\nfigures\n\n## Session one\n\ndetails\n## Session two\n"
    out = notes_summary(notes)
    assert out.startswith("## Where it stands\n\nfigures")
    assert "details" not in out and "Session one" not in out
    assert "[NOTES.md](NOTES.md)" in out


def test_a_notebook_of_one_section_is_copied_whole_without_a_link():
    notes = "## Where it stands\n\nfigures\n"
    assert notes_summary(notes) == "## Where it stands\n\nfigures"


def test_the_shipped_card_holds_the_shipped_notebooks_summary_not_its_sessions():
    model = os.path.join(ROOT, "models", "default")
    notes = open(os.path.join(model, "NOTES.md")).read()
    card = open(os.path.join(model, "README.md")).read()
    summary = notes_summary(notes)
    assert summary.splitlines()[0] == "## Where the model stands (read this first)"
    assert card.rstrip().endswith(summary), "models/default/README.md is stale: run lttw.model_card"
    sessions = [line for line in notes.splitlines() if line.startswith("## Session of")]
    assert sessions and not any(s in card for s in sessions)
