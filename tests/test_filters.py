"""The FineWeb filters against datatrove 0.10.1 on real pages, and their step contract.

The reference answers come from ``bench.datatrove_filters.corpus_outcomes()`` (datatrove's filters run
offline on every text of ``bench.real_texts.all_texts()``: the main text of every HTML page in the
shared WARCs and readability test pages, and the langid passages).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from bench import real_texts as corpus
from bench.datatrove_filters import STAGE, corpus_outcomes, reference_filter, verdict
from curation.document import Document
from curation.stats import StepStats
from curation.registry import step_class
from curation.step import DocumentStep, StepParams
from filters import c4, fineweb, gopher, language, pii, url
from filters.base import BaseFilter

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

STEP_CLASSES = {
    "url_filter": url.URLFilter,
    "language": language.LanguageFilter,
    "gopher_repetition": gopher.GopherRepetitionFilter,
    "gopher_quality": gopher.GopherQualityFilter,
    "c4_quality": c4.C4QualityFilter,
    "fineweb_quality": fineweb.FineWebQualityFilter,
    "pii_formatter": pii.PIIFormatter,
}


# --------------------------------------------------------------------------------------------
# the step contract


def test_every_step_is_registered():
    for name, cls in STEP_CLASSES.items():
        assert step_class(name) is cls
        assert cls.name == name
        assert issubclass(cls.Params, StepParams)
        assert issubclass(cls, BaseFilter) or name == "pii_formatter"
        assert issubclass(cls, DocumentStep)
        for score in cls.scores:
            assert score.low < score.high and score.bins > 0, score.name


def test_params_defaults_and_validation():
    assert c4.C4QualityFilter().params.filter_no_terminal_punct is False  # FineWeb's setting
    assert language.LanguageFilter().params.languages == ("en",)
    assert language.LanguageFilter().params.language_threshold == 0.65
    assert gopher.GopherQualityFilter().params.min_doc_words == 50
    assert fineweb.FineWebQualityFilter().params.line_punct_thr == 0.12
    assert url.URLFilter().params.soft_word_threshold == 2
    with pytest.raises(ValidationError):
        c4.C4QualityFilter.Params(no_such_setting=1)
    step = gopher.GopherRepetitionFilter(gopher.GopherRepetitionFilter.Params(dup_line_frac=0.5), label="rep#2")
    assert step.label == "rep#2" and step.params.dup_line_frac == 0.5


@pytest.mark.slow
def test_constructors_load_nothing_and_resources_load_once_per_process(tmp_path):
    """In a fresh interpreter: building steps loads nothing; three tasks load each resource once."""
    script = textwrap.dedent(
        """
        import json, warnings
        warnings.simplefilter("ignore")
        from curation.document import Document
        from curation.stats import StepStats
        from filters import c4, fineweb, gopher, language, url, words
        loaders = {"blocklist": url.load_blocklist, "word_lists": url.load_word_lists,
                   "fasttext": language.load_model, "spacy": words.spacy_objects}
        classes = [url.URLFilter, language.LanguageFilter, gopher.GopherRepetitionFilter,
                   gopher.GopherQualityFilter, c4.C4QualityFilter, fineweb.FineWebQualityFilter]
        for cls in classes:
            cls()
        after_init = {k: f.cache_info().currsize for k, f in loaders.items()}
        text = "This is a sentence about the weather and the sea. " * 30
        for task in range(3):  # a worker runs many tasks: each builds its steps anew
            for cls in classes:
                step = cls()
                docs = [Document(id=f"{task}-{i}", text=text, url=f"http://example.com/{i}") for i in range(5)]
                list(step.run(docs, StepStats(step.name)))
        print(json.dumps({"after_init": after_init, "misses": {k: f.cache_info().misses for k, f in loaders.items()}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300, check=True
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["after_init"] == {"blocklist": 0, "word_lists": 0, "fasttext": 0, "spacy": 0}
    assert result["misses"] == {"blocklist": 1, "word_lists": 1, "fasttext": 1, "spacy": 1}


# --------------------------------------------------------------------------------------------
# real pages


@pytest.fixture(scope="module")
def samples():
    found = corpus.all_texts()
    if not found:
        pytest.skip(f"no shared data at {corpus.shared_data_dir()} (set CURATION_SHARED_DATA)")
    return found


@pytest.fixture(scope="module")
def expected(samples):
    return corpus_outcomes()


def ours(name: str, text: str, url_: str = ""):
    step = STEP_CLASSES[name]()
    doc = Document(id="doc", text=text, url=url_)
    result = step.filter(doc)
    keep, reason = verdict(result)
    if not keep and reason is None:
        reason = name  # what our BaseFilter records for a bare False
    return (keep, reason), doc.text, doc.metadata


def same_verdict(name: str, mine, theirs) -> bool:
    if name == "language":  # datatrove's LanguageFilter gives no reason
        return mine[0] == theirs[0]
    return mine == theirs


@pytest.mark.real_data
@pytest.mark.slow
@pytest.mark.parametrize("name", STAGE)
def test_real_pages_same_decisions(name, samples, expected):
    step = STEP_CLASSES[name]()
    mismatches = []
    for sample in samples:
        doc = Document(id=sample.id, text=sample.text, url=sample.url)
        mine = verdict(step.filter(doc))
        theirs, their_text, their_meta = expected[sample.id][name]
        if not same_verdict(name, mine, theirs) or doc.text != their_text:
            mismatches.append((sample.id, mine, theirs))
        if name == "language":
            assert (doc.metadata["language"], doc.metadata["language_score"]) == (
                their_meta["language"],
                their_meta["language_score"],
            ), sample.id
    assert not mismatches, mismatches[:5]


@pytest.mark.real_data
@pytest.mark.slow
def test_real_pages_fineweb_after_c4(samples, expected):
    """In the pipeline fineweb_quality sees c4_quality's text."""
    checked = 0
    for sample in samples:
        row = expected[sample.id]
        if "fineweb_quality_after_c4" not in row:
            continue
        c4_text = row["c4_quality"][1]
        (keep, reason), _, _ = ours("fineweb_quality", c4_text, sample.url)
        assert (keep, reason) == row["fineweb_quality_after_c4"][0], sample.id
        checked += 1
    assert checked > 100


@pytest.mark.real_data
@pytest.mark.slow
def test_stage_chain_matches_datatrove(samples, expected):
    """The five filters chained with ``run`` (as a stage runs them) keep and drop what datatrove's chain would."""
    steps = [STEP_CLASSES[name]() for name in STAGE]
    stats = [s.new_stats() for s in steps]
    docs = [Document(id=s.id, text=s.text, url=s.url) for s in samples]
    stream = iter(docs)
    for step, st in zip(steps, stats):
        stream = step.run(stream, st)
    kept = {d.id: d.text for d in stream}

    # expected: the first filter that drops a document, fineweb on c4's text
    want_kept, want_dropped = {}, {name: {} for name in STAGE}
    for sample in samples:
        row = expected[sample.id]
        for name in STAGE:
            outcome = row["fineweb_quality_after_c4"] if name == "fineweb_quality" else row[name]
            (keep, reason), text, _ = outcome
            if not keep:
                want_dropped[name][sample.id] = reason or name
                break
        else:
            want_kept[sample.id] = row["c4_quality"][1]
    assert kept == want_kept
    for name, st in zip(STAGE, stats):
        assert sum(st.dropped.values()) == len(want_dropped[name]), name
        assert dict(st.dropped) == dict(Counter(want_dropped[name].values())), name
    # every document got a language label, kept or dropped
    assert all("language" in d.metadata and "language_score" in d.metadata for d in docs)
    assert sum(stats[0].histograms["language_score"].counts) == len(docs)
    assert sum(stats[2].histograms["n_words"].counts) == sum(1 for d in docs if "n_words" in d.metadata)


@pytest.mark.real_data
def test_real_pages_pii(samples):
    ref = reference_filter("pii_formatter")
    step = pii.PIIFormatter()
    texts = [s.text for s in samples]
    # add addresses so every branch runs: valid, private and invalid IPs, emails
    texts += [
        "write to john.doe@example.com or jane@sub.example.co.uk; ping 8.8.8.8 and 10.0.0.1, not 999.1.1.1",
        "servers 1.1.1.1, 192.168.0.1, 127.0.0.1, 172.217.3.110 and [me@[192.168.1.1]]",
    ] * 5
    docs = [Document(id=str(i), text=t) for i, t in enumerate(texts)]
    st = StepStats("pii_formatter")
    out = [d.text for d in step.run(docs, st)]
    expected_texts = [ref.format(t) for t in texts]  # one instance: the replacement turn carries over
    assert out == expected_texts
    assert st.counters["emails_replaced"] > 0 and st.counters["ips_replaced"] > 0
