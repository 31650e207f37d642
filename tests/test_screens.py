"""The screens before extraction: what each drops, what it leaves alone, and that on every real page
the screened FineWeb pipeline keeps the same documents as the unscreened one."""

from __future__ import annotations

import sys

import pytest

from curation.config import load_pipeline
from curation.document import Document
from curation.errors import ConfigError
from curation.extraction import screens as screens_module
from curation.extraction.screens import ExtractionScreen, ScreenParams
from curation.stats import StepStats
from tests.conftest import ROOT

ENGLISH = (
    "<p>The city council met on Tuesday evening to discuss the budget for the public libraries, which saw "
    "more visitors this year than in any year since they opened. Several members asked whether the branch "
    "in the old market hall could stay open on Sundays, and the librarians explained what that would cost.</p>"
    "<p>After a long debate the council agreed to fund two more staff positions and to review the opening "
    "hours again in the spring, when the figures for the winter months are known.</p>"
)
GERMAN = (
    "<p>Der Stadtrat hat am Dienstagabend über den Haushalt der öffentlichen Bibliotheken beraten, die in "
    "diesem Jahr mehr Besucher hatten als je zuvor. Mehrere Mitglieder fragten, ob die Zweigstelle in der "
    "alten Markthalle auch sonntags geöffnet bleiben könne, und die Bibliothekarinnen erklärten, was das kosten würde.</p>"
    "<p>Nach einer langen Debatte beschloss der Rat, zwei weitere Stellen zu finanzieren und die Öffnungszeiten "
    "im Frühjahr noch einmal zu prüfen, wenn die Zahlen für die Wintermonate vorliegen.</p>"
)
GERMAN_MENU = "<nav><a href='/'>Startseite</a> <a href='/k'>Kontakt</a> <a href='/i'>Impressum</a></nav>"


def page(body: str) -> str:
    return f"<html><head><title>t</title></head><body>{body}</body></html>"


def screen(docs: list[str], **params) -> tuple[list[Document], StepStats]:
    step = ExtractionScreen(ScreenParams(**params))
    st = StepStats(step.label)
    return list(step.run([Document(id=str(i), text=t) for i, t in enumerate(docs)], st)), st


def test_the_screens_are_off_unless_set():
    pages = [page(GERMAN), page("<p>Not found</p>"), page("")]
    out, st = screen(pages)
    assert [d.text for d in out] == pages and not st.dropped


def test_the_language_screen_drops_pages_in_no_kept_language():
    out, st = screen([page(ENGLISH), page(GERMAN)], languages=["en"])
    assert [d.id for d in out] == ["0"] and st.dropped == {"other_language": 1}
    # counted in the run's language mix as the language step counts, and shown with the sampled page
    assert st.counters == {"language:de": 1}
    (sample,) = st.samples["other_language"]
    assert sample["metadata"]["language"] == "de" and sample["metadata"]["language_score"] > 0.9
    out, st = screen([page(ENGLISH), page(GERMAN)], languages=["en", "de"])
    assert [d.id for d in out] == ["0", "1"] and not st.dropped


def test_a_page_in_a_kept_language_with_a_foreign_menu_is_kept():
    out, st = screen([page(GERMAN_MENU + ENGLISH)], languages=["en"])
    assert len(out) == 1 and not st.dropped


def test_a_page_without_text_is_left_to_the_extractor():
    out, st = screen([page(""), page("<img src='x.png'>")], languages=["en"])
    assert len(out) == 2 and not st.dropped


def test_the_word_screen_drops_pages_with_too_few_visible_words():
    out, st = screen([page("<h1>Page not found</h1>"), page(ENGLISH)], min_words=10)
    assert [d.id for d in out] == ["1"] and st.dropped == {"too_few_words": 1}


def test_the_word_screen_counts_what_trafilatura_may_read():
    # trafilatura reads <select> options and <noscript>; the screen counts them so as not to drop such a page
    options = "".join(f"<option>Collection number {i}</option>" for i in range(10))
    out, st = screen([page(f"<form><select>{options}</select></form>"), page(f"<noscript>{ENGLISH}</noscript>")], min_words=10)
    assert len(out) == 2 and not st.dropped


def test_pages_passed_on_are_untouched():
    html = page(ENGLISH)
    out, _ = screen([html], languages=["en"], min_words=10)
    assert out[0].text == html and out[0].metadata == {}


def test_a_page_the_screen_cannot_read_goes_on_unscreened(monkeypatch):
    def refuse(html):
        raise ValueError("cannot parse")

    monkeypatch.setattr(screens_module, "visible_text", refuse)
    out, st = screen([page(GERMAN)], languages=["en"], min_words=10)
    assert len(out) == 1 and not st.dropped and st.counters["unscreened"] == 1


def test_a_threshold_that_is_not_a_probability_is_a_config_error(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("stages:\n  extract:\n    - warc_reader: {}\n    - screen: {languages: [en], other_language_below: 1.5}\n")
    with pytest.raises(ConfigError, match="other_language_below"):
        load_pipeline(f)


def test_fineweb_screens_the_languages_its_language_step_keeps():
    cfg = load_pipeline(ROOT / "pipelines" / "fineweb.yaml")
    screen_step = next(s for s in cfg.stage("extract").steps if s.name == "screen")
    language = next(s for s in cfg.stage("filter").steps if s.name == "language")
    assert screen_step.params.languages == language.params.languages
    assert screen_step.params.other_language_below < language.params.language_threshold
    names = [s.name for s in cfg.stage("extract").steps]
    assert names.index("screen") == names.index("trafilatura") - 1


@pytest.mark.slow
@pytest.mark.real_data
def test_on_every_real_page_the_screens_keep_the_same_documents(shared_data):
    """fineweb.yaml with and without its screen step, on every real HTML page (bench/bench_screens.py)."""
    sys.path.insert(0, str(ROOT))
    from bench.bench_screens import measure

    r = measure()
    assert r["pages"] > 300
    assert r["agreement"] >= 0.999, (r["only_screened"], r["only_unscreened"])
    assert r["same_text"] == r["both"]
    assert r["language_screen_changed_language_verdict"] == []
    reasons = {d["screen"] for d in r["screen_drops"].values()}
    assert reasons == {"screen:other_language", "screen:too_few_words"}  # both screens did work here


def test_the_language_screen_must_keep_the_language_steps_languages(tmp_path):
    text = (ROOT / "pipelines" / "fineweb.yaml").read_text().replace("languages: [en]\n        language_threshold", "languages: [en, fr]\n        language_threshold")
    (tmp_path / "p.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"screens for languages \['en'\] but step 'language' keeps \['en', 'fr'\]"):
        load_pipeline(tmp_path / "p.yaml")
