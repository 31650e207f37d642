"""The HTML report: its figures are the run's statistics, and it opens in a real Chromium, offline,
without a script error, with every chart drawn.

The browser is the system Chromium driven by Playwright (no browser download); the tests that need
it skip, saying so, only when no Chromium is installed (``apt-get install -y chromium``, or set
``CHROMIUM`` to a Chrome/Chromium binary). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from curation.config import stage_from_dict
from curation.document import Document
from curation.errors import CurationError
from curation.io.fs import atomic_write_bytes
from curation.io.shards import write_documents
from curation.layout import StageLayout, load_run_stats, write_run_info
from curation.registry import step_class
from curation.report import collect, nice_ticks, thresholds_for, write_report
from curation.report.charts import size_buckets
from curation.stage import ShardTask, run_shard
from curation.stats import StageStats, StepStats
from curation.summary import language_funnel
from tests.conftest import ROOT

FINEWEB = ROOT / "pipelines" / "fineweb.yaml"
ARTIFACTS = ROOT / "test-artifacts"
CHART_KINDS = {"funnel", "drops", "histogram", "languages", "language-funnel", "lengths", "clusters", "tokens", "documents-per-month", "compute", "step-time"}


# ----------------------------------------------------------------------------------------------
# Fixtures: one full run of the sample (shared with test_inspect), a browser
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def full_run(sample_run) -> tuple[Path, dict]:
    """The FineWeb pipeline on the bundled sample (conftest's session run): (output, manifest)."""
    return sample_run


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = chromium_path()
    if exe is None:
        pytest.skip("Chromium not found: install it (apt-get install -y chromium) or set CHROMIUM=/path/to/chromium")
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("chromium-home")
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"), "HOME": str(home)}
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=exe,
            env=env,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield b
        b.close()


class Page:
    """A report opened in the browser, with what it did: script errors, console errors, requests."""

    def __init__(self, browser, path: Path):
        self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.errors: list[str] = []
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))

        def route(r):
            url = r.request.url
            self.requests.append(url)
            if url.startswith("file:"):
                r.continue_()
            else:
                r.abort()

        self.page.route("**/*", route)
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_load_state("load")

    def foreign_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]

    def close(self) -> None:
        self.page.close()


def report_data(html_text: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html_text, re.S)
    assert m, "the report embeds its figures as JSON"
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def report(full_run, tmp_path_factory) -> tuple[Path, dict, Path]:
    out, manifest = full_run
    path = Path(write_report(str(out), str(tmp_path_factory.mktemp("report") / "report.html")))
    return path, manifest, out


# ----------------------------------------------------------------------------------------------
# The figures are the run's
# ----------------------------------------------------------------------------------------------


@pytest.mark.ray
def test_funnel_and_drops_are_the_run_statistics(report):
    path, manifest, out = report
    data = report_data(path.read_text())
    stats = load_run_stats(str(out))
    steps = [(stage, st) for stage, ss in stats.items() for st in ss.steps]
    assert data["stages"] == ["extract", "filter", "dedup", "tokenize"]
    assert data["funnel"][0]["documents"] == stats["extract"].step("warc_reader").docs_in
    assert [(r["stage"], r["step"], r["documents"]) for r in data["funnel"][1:]] == [(s, st.name, st.docs_out) for s, st in steps]
    assert {r["step"]: r["dropped"] for r in data["drops"]} == {st.name: dict(st.dropped) for _, st in steps if st.dropped}
    # ... which are the planted cases of the sample
    expected = collections.Counter(r["expected"] for r in manifest["records"])
    removed = {r["step"]: r["removed"] for r in data["funnel"][1:]}
    drops = {r["step"]: r["dropped"] for r in data["drops"]}
    assert removed["url_filter"] == expected["url_filter"]
    # fineweb.yaml's screens settle some language and quality cases before trafilatura: the report
    # shows them under the screen step, and every planted case is still counted exactly once
    assert removed["screen"] == sum(drops["screen"].values()) > 0
    assert removed["screen"] + removed["trafilatura"] + removed["language"] + sum(
        removed[s] for s in ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")
    ) == expected["extraction"] + expected["language"] + expected["quality"]
    # (on the sample the screen takes every planted language case, so the language step may drop none)
    assert removed["language"] == drops.get("language", {}).get("language", 0) == expected["language"] - drops["screen"]["other_language"]
    assert drops["warc_reader"]["non_html"] == expected["reader:non_html"]
    assert "non_200" not in drops["warc_reader"]  # statuses: any; the redirects and 404s are quality drops below
    quality = collections.Counter(r["expected_step"] for r in manifest["records"] if r["expected"] == "quality")
    for step in ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality"):
        assert removed[step] <= quality[step], step
    exact_pairs = sum(1 for r in manifest["records"] if r["case"] == "exact_duplicate")
    assert drops["exact_dedup"]["exact_duplicate"] == exact_pairs
    # the page shows the same numbers, with thousands separators
    page = path.read_text()
    assert f'data-step="language" data-value="{stats["filter"].step("language").docs_out}"' in page
    assert f'{stats["extract"].step("warc_reader").docs_in:,}' in page


@pytest.mark.ray
def test_languages_lengths_clusters_tokens_and_compute(report):
    path, manifest, out = report
    data = report_data(path.read_text())
    stats = load_run_stats(str(out))

    # languages: the language step's counters, for every document entering it, and the screen's, for
    # every page it dropped as other_language before extraction
    lang = data["languages"]
    assert lang["source"] == "counters"
    by_lang = {x["language"]: x for x in lang["languages"]}
    planted = collections.Counter(r["lang"] for r in manifest["records"] if r["expected"] == "language")
    assert {k: by_lang[k]["dropped"] for k in planted} == dict(planted)
    assert by_lang["en"]["kept"] == stats["filter"].step("language").docs_out
    assert sum(x["kept"] for x in by_lang.values()) == stats["filter"].step("language").docs_out
    screened = stats["extract"].step("screen").dropped["other_language"]
    assert sum(x["documents"] for x in by_lang.values()) == stats["filter"].step("language").docs_in + screened

    # the per-language funnel: curation.summary's, with the manifest's tokens
    manifest_t = json.loads((out / "tokenize" / "manifest.json").read_text())
    funnel = data["language_funnel"]
    assert funnel == json.loads(json.dumps(language_funnel(stats, manifest_t)))
    en = funnel[0]
    assert en["language"] == "en" and en["identified"] == by_lang["en"]["documents"]
    assert en["kept"] == {"filter": stats["filter"].steps[-1].docs_out, "dedup": stats["dedup"].steps[-1].docs_out}
    assert en["tokens"] == sum(split["languages"]["en"]["tokens"] for split in manifest_t["splits"].values()) > 0
    assert all(r["tokens"] == 0 for r in funnel if r["language"] in planted)
    # the screen settles their fate before extraction (pipelines/fineweb.yaml)
    assert {r["language"]: r["dropped"] for r in funnel if r["language"] in planted} == {k: {"screen:other_language": n} for k, n in planted.items()}
    page = path.read_text()
    row = page[page.index('<tr data-language="en">'):]
    row = row[: row.index("</tr>")]
    assert row.startswith(f'<tr data-language="en"><td>en</td><td>{en["identified"]:,}</td>') and f'<td>{en["kept"]["filter"]:,} ' in row

    # lengths: the extract and dedup shards, every document read
    before, after = data["lengths"]
    assert (before["stage"], after["stage"]) == ("extract", "dedup")
    for h, stage in ((before, "extract"), (after, "dedup")):
        last = stats[stage].steps[-1]
        assert h["complete"] and h["documents"] == sum(h["counts"]) == last.docs_out
        assert h["characters"] == last.chars_out, stage

    # duplicate clusters: dedup/clusters.json
    clusters = json.loads((out / "dedup" / "clusters.json").read_text())
    assert data["clusters"]["exact"] == clusters["exact"]
    assert sum(g["documents_removed"] for g in data["clusters"]["exact"].values()) == sum(stats["dedup"].step("exact_dedup").dropped.values())
    assert data["clusters"]["near"]["documents_removed"] == sum(stats["dedup"].step("minhash_dedup").dropped.values())

    # tokens: the manifest's shards, which add up to the tokenize step's count
    assert data["tokens"]["total"] == manifest_t["total"]
    assert sum(s["tokens"] for s in data["tokens"]["shards"]) == manifest_t["total"]["tokens"] == stats["tokenize"].step("tokenize").counters["tokens"]

    # compute: per stage, as `curation stats --json`
    for c in data["compute"]:
        ss = stats[c["stage"]]
        assert c["cpu_seconds"] == pytest.approx(ss.cpu_seconds) and c["task_seconds"] == pytest.approx(ss.wall_seconds)
        assert c["shards"] == ss.shards and [s["step"] for s in c["steps"]] == [st.name for st in ss.steps]

    # histograms: every one the steps recorded, thresholds from run.json
    hists = {(h["step"], h["metric"]): h for h in data["histograms"]}
    assert set(hists) == {(st.name, m) for ss in stats.values() for st in ss.steps for m in st.histograms}
    assert hists[("language", "language_score")]["thresholds"] == [{"param": "language_threshold", "value": 0.65, "side": "min"}]
    assert hists[("gopher_repetition", "top_2_gram")]["thresholds"] == [{"param": "top_n_grams[2]", "value": 0.2, "side": "max"}]
    assert {t["param"] for t in hists[("gopher_quality", "n_words")]["thresholds"]} == {"min_doc_words", "max_doc_words"}
    assert hists[("c4_quality", "c4_lines_removed_frac")]["thresholds"] == []
    assert hists[("c4_quality", "c4_sentences")]["thresholds"] == [{"param": "min_num_sentences", "value": 5.0, "side": "min"}]
    # ... drawn as the steps describe their scores
    assert (hists[("gopher_quality", "n_words")]["unit"], hists[("gopher_quality", "n_words")]["counted"]) == ("words", "documents")
    assert hists[("fineweb_quality", "char_dup_ratio")]["unit"] == "char dup ratio"  # a ratio: the axis is named after it
    assert (hists[("minhash_dedup", "cluster_size")]["counted"], hists[("minhash_dedup", "cluster_size")]["note"]) == ("clusters", step_class("minhash_dedup").scores[0].note)


@pytest.mark.ray
def test_report_opens_in_chromium_offline_with_every_chart_drawn(report, browser):
    path, _, _ = report
    data = report_data(path.read_text())
    page = Page(browser, path)
    try:
        assert page.errors == [] and page.console_errors == []
        assert page.foreign_requests() == []
        charts = page.page.evaluate(
            """() => Array.from(document.querySelectorAll('.chart')).map(c => {
                 const svg = c.querySelector('svg');
                 const marks = svg ? Array.from(svg.querySelectorAll('.mark')) : [];
                 const drawn = marks.filter(m => { const b = m.getBBox(); return b.width > 0 && b.height > 0; });
                 const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
                 return {kind: c.dataset.chart, marks: marks.length, drawn: drawn.length, w: box.width, h: box.height};
               })"""
        )
        assert {c["kind"] for c in charts} == CHART_KINDS
        for c in charts:
            assert c["drawn"] > 0 and c["w"] > 100 and c["h"] > 20, c
        assert sum(c["kind"] == "histogram" for c in charts) == len(data["histograms"])
        # the funnel bars carry the statistics' numbers
        values = page.page.eval_on_selector_all('[data-chart="funnel"] rect.mark', "els => els.map(e => Number(e.dataset.value))")
        assert values == [r["documents"] for r in data["funnel"]]
        # each language's bar splits its identified documents by where they went
        segments = page.page.eval_on_selector_all('[data-chart="language-funnel"] rect.mark',
                                                  "els => els.map(e => [e.dataset.row, e.dataset.segment, Number(e.dataset.value)])")
        for r in data["language_funnel"]:
            mine = {seg: v for row, seg, v in segments if row == r["language"]}
            assert sum(mine.values()) == r["identified"], r["language"]
            assert mine.get("kept after dedup", 0) == r["kept"].get("dedup", 0), r["language"]
        # the script ran: "expand all" opens every sample
        page.page.click("#expand-all")
        closed = page.page.eval_on_selector_all("#samples details", "els => els.filter(d => !d.open).length")
        assert closed == 0
        page.page.click("#collapse-all")
        ARTIFACTS.mkdir(exist_ok=True)
        page.page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        shutil.copyfile(path, ARTIFACTS / "report.html")
        assert (ARTIFACTS / "report.png").stat().st_size > 50_000
    finally:
        page.close()


# ----------------------------------------------------------------------------------------------
# Runs with missing stages, hostile text, no output
# ----------------------------------------------------------------------------------------------


@pytest.mark.ray
def test_a_run_with_only_extract_and_filter(full_run, browser, tmp_path):
    out, _ = full_run
    partial = tmp_path / "partial"
    for stage in ("extract", "filter"):
        shutil.copytree(out / stage, partial / stage)
    shutil.copyfile(out / "run.json", partial / "run.json")
    path = Path(write_report(str(partial), str(tmp_path / "partial.html")))
    data = report_data(path.read_text())
    assert data["stages"] == ["extract", "filter"]
    assert data["clusters"] is None and data["tokens"] is None
    assert [h["stage"] for h in data["lengths"]] == ["extract", "filter"]
    text = path.read_text()
    assert "no dedup stage in this run" in text and "no tokenize stage in this run" in text
    page = Page(browser, path)
    try:
        assert page.errors == [] and page.console_errors == [] and page.foreign_requests() == []
        kinds = page.page.eval_on_selector_all(".chart", "els => els.map(e => e.dataset.chart)")
        assert set(kinds) == CHART_KINDS - {"clusters", "tokens", "documents-per-month"}
    finally:
        page.close()

    # only the filter stage, without the extract shards the language step read
    only_filter = tmp_path / "only-filter"
    shutil.copytree(out / "filter", only_filter / "filter")
    data = collect(str(only_filter))
    # the language step's counters travel with the filter stage's statistics (the screen's, with the extract stage's)
    assert data["languages"]["source"] == "counters"
    language = load_run_stats(str(out))["filter"].step("language")
    assert {x["language"]: x["documents"] for x in data["languages"]["languages"]} == {
        k.split(":", 1)[1]: n for k, n in language.counters.items() if k.startswith("language:")
    }


HOSTILE = '</script><script>alert("x")</script><img src=x onerror="alert(1)"> & "quotes" <!-- comment'


def _synthetic_run(root: Path) -> Path:
    """An output with one filter shard whose dropped sample, reason and URL are hostile HTML."""

    class Doc:
        id = "<urn:uuid:1>"
        url = "https://example.com/?q=<b>bold</b>&x=\"y\""
        text = f"text {HOSTILE}\nsecond line"
        metadata = {"language_score": 0.5, "note": HOSTILE}

    st = StepStats("language", docs_in=3, docs_out=2, chars_in=30, chars_out=20)
    st.drop(Doc(), f"reason {HOSTILE}")
    st.observe("language_score", 0.5)
    ss = StageStats("filter", steps=[st], shards=1, cpu_seconds=0.5, wall_seconds=1.0)
    (root / "filter" / "_done").mkdir(parents=True)
    marker = {"shard": "s-0000", "input": "x", "stage": "filter", "fingerprint": "f", "documents": 2, "stats": ss.to_dict()}
    (root / "filter" / "_done" / "s-0000.json").write_text(json.dumps(marker))
    (root / "run.json").write_text(json.dumps({"pipeline": f"evil {HOSTILE}", "config": {"filter": [{"language": {"language_threshold": 0.65}}]}}))
    return root


def test_sampled_documents_are_html_escaped(tmp_path, browser):
    out = _synthetic_run(tmp_path / "run")
    path = Path(write_report(str(out), str(tmp_path / "r.html")))
    text = path.read_text()
    assert HOSTILE not in text and "<img src=x" not in text
    assert "&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert text.count("</script>") == 2  # the JSON data block and the report's own script
    assert report_data(text)["run"]["pipeline"] == f"evil {HOSTILE}"
    page = Page(browser, path)
    try:
        assert page.errors == [] and page.console_errors == []
        page.page.click("#expand-all")
        shown = page.page.inner_text("#samples")
        assert HOSTILE.split("<!--")[0].strip() in shown  # shown as text, not run
        assert page.page.evaluate("document.querySelectorAll('img').length") == 0
    finally:
        page.close()


def test_a_folder_without_a_run_is_an_error(tmp_path):
    with pytest.raises(CurationError, match="no curation output"):
        write_report(str(tmp_path / "nothing"), str(tmp_path / "r.html"))


def test_default_path_is_inside_the_output(tmp_path):
    out = _synthetic_run(tmp_path / "run")
    assert write_report(str(out)) == f"{out}/report.html"
    assert (out / "report.html").stat().st_size > 0


# ----------------------------------------------------------------------------------------------
# A step of one's own, and many languages: nothing in the report names them
# ----------------------------------------------------------------------------------------------

SHOUT = "tests.custom_step:ShoutFilter"  # not in the registry: the pipeline names its module and class


def _run_own_step(tmp_path: Path, name: str = SHOUT) -> Path:
    """A filter stage of one shard through ``tests.custom_step.ShoutFilter`` (max_shout 0.5), as a run leaves it."""
    quiet = [Document(id=f"<urn:quiet:{i}>", text=f"A calm sentence number {i}, mostly in lower case.", url=f"https://example.com/{i}") for i in range(9)]
    loud = [Document(id=f"<urn:loud:{i}>", text="STOP SHOUTING AT ME " * (i + 1) + "please", url=f"https://loud.example/{i}") for i in range(3)]
    write_documents(str(tmp_path / "in.parquet"), quiet + loud)
    stage = stage_from_dict("filter", [{name: {"max_shout": 0.5}}])
    out = tmp_path / "run"
    run_shard(stage, ShardTask("filter", "s-0000", str(tmp_path / "in.parquet"), str(out)))
    write_run_info(str(out), {"pipeline": "own step", "config": {"filter": stage.to_dict()}})
    return out


def test_a_step_of_ones_own_is_drawn_from_its_score_descriptions(tmp_path, browser):
    out = _run_own_step(tmp_path)
    path = Path(write_report(str(out), str(tmp_path / "r.html")))
    data = report_data(path.read_text())
    (h,) = data["histograms"]
    assert (h["step"], h["metric"], h["documents"]) == (SHOUT, "shout_ratio", 12)
    assert h["thresholds"] == [{"param": "max_shout", "value": 0.5, "side": "max"}]
    assert (h["unit"], h["note"]) == ("share of letters in capitals", "letters only; a text without letters scores 0")
    assert data["drops"] == [{"stage": "filter", "step": SHOUT, "docs_in": 12, "dropped": {"too_loud": 3}}]
    page = Page(browser, path)
    try:
        assert page.errors == [] and page.console_errors == []
        hist = page.page.locator('.hist[data-metric="shout_ratio"]')
        assert "max_shout = 0.5: above is dropped" in hist.inner_text()
        assert hist.locator("line.threshold").count() == 1
        # the bins past the threshold are drawn red, and hold the three loud documents
        red = hist.locator('rect.mark[fill="#d62728"]').evaluate_all("els => els.map(e => Number(e.dataset.value))")
        assert sum(red) == 3
        # each dropped document shows the score that explains its reason
        page.page.click("#expand-all")
        keys = page.page.locator('#samples details.reason[data-reason="too_loud"] .pill.red').all_inner_texts()
        assert len(keys) == 3 and all(k.startswith("shout_ratio=") and float(k.split("=")[1]) > 0.5 for k in keys)
    finally:
        page.close()


def test_a_step_whose_class_is_gone_gets_plain_histograms(tmp_path):
    out = _run_own_step(tmp_path)
    gone = "tests.no_such_module:ShoutFilter"
    for url in (out / "filter" / "_done").glob("*.json"):  # as if the module had been deleted since the run
        url.write_text(url.read_text().replace(SHOUT, gone))
    (out / "run.json").write_text((out / "run.json").read_text().replace(SHOUT, gone))
    (h,) = collect(str(out))["histograms"]
    assert (h["step"], h["metric"], h["documents"]) == (gone, "shout_ratio", 12)
    assert (h["thresholds"], h["unit"], h["note"], h["counted"]) == ([], "shout ratio", "", "documents")
    assert write_report(str(out), str(tmp_path / "r.html"))


def _many_languages_run(root: Path, languages: int) -> Path:
    """A filter stage whose language step saw ``languages`` languages (the i-th: 2 * (languages - i) documents, half kept)."""
    st = StepStats("language")
    for i in range(languages):
        lang = f"l{i:02d}"
        for j in range(2 * (languages - i)):
            doc = Document(id=f"<urn:{lang}:{j}>", text="x", metadata={"language": lang})
            st.docs_in += 1
            if j % 2:
                st.drop(doc, "language")
            else:
                st.docs_out += 1
                st.keep(doc)
    layout = StageLayout(str(root), "filter")
    marker = {"shard": "s-0000", "input": "x", "stats": StageStats("filter", steps=[st], shards=1).to_dict()}
    atomic_write_bytes(layout.done("s-0000"), json.dumps(marker).encode())
    return root


def test_many_languages_show_the_top_ones_and_the_rest_as_other(tmp_path, browser):
    out = _many_languages_run(tmp_path / "run", 20)
    path = Path(write_report(str(out), str(tmp_path / "r.html")))
    data = report_data(path.read_text())
    assert len(data["language_funnel"]) == 20 and data["language_funnel"][0] == {
        "language": "l00", "identified": 40, "kept": {"filter": 20}, "dropped": {"language:language": 20}}
    page = Page(browser, path)
    try:
        assert page.errors == [] and page.console_errors == []
        rows = page.page.locator('[data-chart="language-funnel"] rect.mark').evaluate_all("els => els.map(e => e.dataset.row)")
        assert list(dict.fromkeys(rows)) == [f"l{i:02d}" for i in range(15)] + ["other (5)"]
        shown = page.page.locator("table.languages").first.locator("tr[data-language]").evaluate_all("els => els.map(e => e.dataset.language)")
        assert shown == [f"l{i:02d}" for i in range(15)] + ["other (5)"]
        other = page.page.locator('table.languages tr[data-language="other (5)"] td').all_inner_texts()
        assert other[:3] == ["other (5)", "30", "15 50.0%"]  # 10 + 8 + 6 + 4 + 2 identified, half kept
        assert page.page.locator("table.languages").nth(1).locator("tr[data-language]").count() == 20  # all of them, collapsed
    finally:
        page.close()


# ----------------------------------------------------------------------------------------------
# Pieces
# ----------------------------------------------------------------------------------------------


def test_thresholds_follow_the_step_settings():
    """The thresholds come from the steps' own score descriptions, read with the run's settings."""
    gq, rep, lang = (step_class(n).scores for n in ("gopher_quality", "gopher_repetition", "language"))
    gopher = {"min_doc_words": 50, "max_doc_words": None, "max_symbol_word_ratio": 0.1, "max_non_alpha_words_ratio": 0.8}
    assert thresholds_for(gq, "n_words", gopher) == [{"param": "min_doc_words", "value": 50.0, "side": "min"}]
    assert thresholds_for(gq, "alpha_words_ratio", gopher) == [{"param": "max_non_alpha_words_ratio", "value": 0.8, "side": "min"}]
    assert thresholds_for(gq, "mean_word_length", {"min_avg_word_length": 0}) == []  # 0 switches the check off
    settings = {"dup_line_frac": 0.3, "top_n_grams": [[2, 0.2], [3, 0.18]], "dup_n_grams": [[5, 0.15]]}
    assert thresholds_for(rep, "dup_line_frac", settings) == [{"param": "dup_line_frac", "value": 0.3, "side": "max"}]
    assert thresholds_for(rep, "top_3_gram", settings) == [{"param": "top_n_grams[3]", "value": 0.18, "side": "max"}]
    assert thresholds_for(rep, "top_4_gram", settings) == []  # no [4, value] pair: no check
    assert thresholds_for(rep, "duplicated_5_n_grams", settings) == [{"param": "dup_n_grams[5]", "value": 0.15, "side": "max"}]
    # the language step's 0.0 is a threshold (zero_is_off=False): it still drops the other languages
    assert thresholds_for(lang, "language_score", {"language_threshold": 0.0}) == [{"param": "language_threshold", "value": 0.0, "side": "min"}]
    assert thresholds_for(step_class("url_filter").scores, "url_soft_banned_words", {"soft_word_threshold": 2})[0]["side"] == "atleast"
    fw = step_class("fineweb_quality").scores
    assert thresholds_for(fw, "list_ratio", {"new_line_ratio": 0.3}) == [{"param": "new_line_ratio", "value": 0.3, "side": "max"}]
    # a score no step describes (an unknown step, or one whose class is gone): a setting named after it
    assert thresholds_for((), "score", {"max_score": 3}) == [{"param": "max_score", "value": 3.0, "side": "max"}]
    assert thresholds_for((), "score", {"min_score": 0}) == []


def test_nice_ticks():
    assert nice_ticks(0, 979) == [0, 200, 400, 600, 800, 1000]
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 3, integer=True) == [0, 1, 2, 3]
    assert nice_ticks(0, 12, 5, integer=True)[-1] >= 12


def test_cluster_sizes_are_bucketed_when_they_spread():
    assert size_buckets({2: 12, 4: 1}) == [("2", 2, 3), ("3", 3, 4), ("4", 4, 5)]
    wide = size_buckets({2: 100, 7: 3, 300: 1})
    assert [b[0] for b in wide][-2:] == ["101–200", "201–500"] and ("6–10", 6, 11) in wide


@pytest.mark.ray
def test_knowledge_cutoff_and_energy_ledger_are_on_the_page(report):
    """The token manifest's cut-off and months, and the curation run's energy estimate, as run.json records it."""
    path, _, out = report
    data = report_data(path.read_text())
    manifest = json.loads((out / "tokenize" / "manifest.json").read_text())
    assert data["tokens"]["knowledge_cutoff"] == manifest["knowledge_cutoff"] is not None
    assert data["tokens"]["documents_per_month"] == manifest["documents_per_month"]
    page = path.read_text()
    assert f"Knowledge cut-off: {manifest['knowledge_cutoff'][:10]}" in page
    run = json.loads((out / "run.json").read_text())
    assert set(run["ledger"]["stages"]) == set(data["ledger"]["stages"]) == {"extract", "filter", "dedup", "tokenize"}
    assert data["ledger"]["total"]["cpu_hours"] > 0 and "energy (estimate)" in page
