"""Extraction: the CPU-time budget, the hang guard, the extractor steps, and the same shards under load."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from curation.config import load_pipeline
from curation.document import Document
from curation.extraction.base import ExtractorStep
from curation.extraction.budget import CpuTimeout, WallTimeout, budget
from curation.extraction.resiliparse import ResiliparseExtractor
from curation.extraction.trafilatura import TrafilaturaExtractor
from curation.stats import StepStats
from tests.conftest import ROOT, run_cli


def spin(cpu_seconds: float) -> None:
    """Use ``cpu_seconds`` of this thread's CPU time."""
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


# --- the budget -------------------------------------------------------------------------------------


def test_the_cpu_budget_stops_a_thread_that_uses_too_much_cpu():
    with pytest.raises(CpuTimeout), budget(cpu_seconds=0.2):
        spin(3.0)


def test_the_cpu_budget_does_not_count_waiting():
    with budget(cpu_seconds=0.2) as limited:
        time.sleep(0.6)  # no CPU used: not stopped
    assert limited


def test_the_wall_guard_stops_a_document_that_hangs():
    with pytest.raises(WallTimeout), budget(cpu_seconds=10.0, wall_seconds=0.2):
        time.sleep(5)


def test_the_wall_guard_leaves_a_slow_but_working_document_to_the_cpu_budget():
    with budget(cpu_seconds=10.0, wall_seconds=0.1) as limited:
        spin(0.5)  # five wall-clock windows, CPU used in each: working, not hung
    assert limited


def test_the_budget_cannot_be_swallowed_by_except_exception():
    def careless():  # extractors wrap their own steps in `except Exception`
        for _ in range(100):
            try:
                spin(0.1)
            except Exception:  # noqa: BLE001, S110 - the carelessness under test
                pass

    with pytest.raises(CpuTimeout), budget(cpu_seconds=0.15):
        careless()


def test_the_budget_restores_the_signal_handlers_and_disarms_its_timers():
    before = signal.getsignal(signal.SIGPROF), signal.getsignal(signal.SIGALRM)
    with budget(cpu_seconds=5.0, wall_seconds=5.0):
        pass
    assert (signal.getsignal(signal.SIGPROF), signal.getsignal(signal.SIGALRM)) == before
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0) and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.parametrize("work", ["spin", "sleep"])
def test_a_signal_handled_after_the_timers_are_disarmed_neither_rearms_nor_raises(monkeypatch, work):
    """A timer that fires just before it is disarmed still runs its Python handler afterwards. Had
    the handler re-armed its timer (a working document), the next signal would meet the default
    handler and end the process (CI's pytest died so, of SIGALRM); had it raised (a document that
    made no progress), the exception would escape a block that had already finished."""
    real_setitimer = signal.setitimer

    def late_signal(which, seconds, *interval):
        result = real_setitimer(which, seconds, *interval)
        if seconds == 0:  # the disarm: deliver the signal that was already on its way
            signum = signal.SIGPROF if which == signal.ITIMER_PROF else signal.SIGALRM
            handler = signal.getsignal(signum)
            if callable(handler):
                handler(signum, None)
        return result

    monkeypatch.setattr(signal, "setitimer", late_signal)
    try:
        with budget(cpu_seconds=5.0, wall_seconds=0.05):
            if work == "spin":
                spin(0.03)
            else:
                time.sleep(0.03)
        timers = signal.getitimer(signal.ITIMER_PROF), signal.getitimer(signal.ITIMER_REAL)
    finally:
        real_setitimer(signal.ITIMER_PROF, 0)
        real_setitimer(signal.ITIMER_REAL, 0)
    assert timers == ((0.0, 0.0), (0.0, 0.0))


def test_outside_the_main_thread_no_limit_is_set():
    seen = []

    def work():
        with budget(cpu_seconds=0.01) as limited:
            seen.append(limited)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == [False]


# --- the extractor steps ------------------------------------------------------------------------------


class Sleeper(ExtractorStep):
    """Waits without using CPU, as a hung extractor would."""

    name = "sleeper_for_tests"

    def extract(self, html: str) -> str | None:
        time.sleep(2)
        return html


class Spinner(ExtractorStep):
    name = "spinner_for_tests"

    def extract(self, html: str) -> str | None:
        spin(2.0)
        return html


class Broken(ExtractorStep):
    name = "broken_for_tests"

    def extract(self, html: str) -> str | None:
        if "bad" in html:
            raise ValueError("hostile page")
        return html.strip() or None


def run_step(step, texts: list[str]) -> tuple[list[Document], StepStats]:
    st = StepStats(step.label)
    docs = [Document(id=str(i), text=t) for i, t in enumerate(texts)]
    return list(step.run(docs, st)), st


def test_each_way_a_document_fails_has_its_own_reason():
    out, st = run_step(Spinner(Spinner.Params(cpu_timeout=0.2, wall_timeout=0)), ["a"])
    assert out == [] and st.dropped == {"cpu_timeout": 1}
    out, st = run_step(Sleeper(Sleeper.Params(cpu_timeout=10, wall_timeout=0.2)), ["a"])
    assert out == [] and st.dropped == {"wall_timeout": 1}
    out, st = run_step(Broken(), ["good", "bad", "  "])
    assert [d.text for d in out] == ["good"] and st.dropped == {"error": 1, "empty": 1}


def test_a_sleeping_extractor_is_not_charged_cpu_time():
    out, st = run_step(Sleeper(Sleeper.Params(cpu_timeout=0.2, wall_timeout=0)), ["a"])
    assert [d.text for d in out] == ["a"] and not st.dropped


def test_documents_extracted_without_a_limit_are_counted():
    result = []
    t = threading.Thread(target=lambda: result.append(run_step(Broken(), ["good"])))
    t.start()
    t.join()
    out, st = result[0]
    assert [d.text for d in out] == ["good"] and st.counters["no_timeout"] == 1


def test_trafilatura_within_a_tiny_budget_drops_a_long_page_as_cpu_timeout():
    html = "<html><body>" + "".join(f"<p>Paragraph {i} has a few words of its own, {i * 7}.</p>" for i in range(20_000)) + "</body></html>"
    out, st = run_step(TrafilaturaExtractor(TrafilaturaExtractor.Params(cpu_timeout=0.01)), [html])
    assert out == [] and st.dropped == {"cpu_timeout": 1}


def test_fineweb_settings_and_rule_are_the_defaults():
    p = TrafilaturaExtractor.Params()
    assert (p.favour_precision, p.include_comments, p.include_tables, p.deduplicate) == (True, False, True, False)
    assert p.cpu_timeout == 20.0 and p.wall_timeout == 120.0
    extract = {s.name: s.params for s in load_pipeline(ROOT / "pipelines" / "fineweb.yaml").stage("extract").steps}
    assert extract["trafilatura"] == p


def readability_page(shared_data: Path, case: str) -> str:
    return gzip.decompress((shared_data / "extraction" / "mozilla-readability-testpages" / "pages" / case / "source.html.gz").read_bytes()).decode("utf-8", "replace")


@pytest.mark.real_data
def test_resiliparse_step_is_dclms_call(shared_data):
    from resiliparse.extract.html2text import extract_plain_text

    pages = [readability_page(shared_data, case) for case in ("wikipedia", "nytimes-1", "qq", "ars-1")]
    out, st = run_step(ResiliparseExtractor(), pages)
    assert [d.text for d in out] == [extract_plain_text(html, main_content=True) for html in pages]
    assert not st.dropped


def test_fineweb_fast_is_fineweb_with_resiliparse():
    fast = load_pipeline(ROOT / "pipelines" / "fineweb-fast.yaml")
    fineweb = load_pipeline(ROOT / "pipelines" / "fineweb.yaml")
    assert [s.name for s in fast.stage("extract").steps] == ["warc_reader", "url_filter", "resiliparse"]
    assert fast.stage("extract").steps[0] == fineweb.stage("extract").steps[0]  # the same reader rules
    for stage in ("filter", "dedup", "tokenize"):
        assert fast.stage(stage).to_dict() == fineweb.stage(stage).to_dict(), stage


# --- the same shards however busy the machine is ---------------------------------------------------------

# Ray starts its workers at niceness 15 (RAY_worker_niceness); hogs at the same niceness share the
# cores with them evenly (at niceness 0 they would leave a worker about 1% of a core, and the test
# would take minutes; the wall guard counts CPU progress, so the result would be the same).
HOG = "import os\nos.nice(15 - os.nice(0))\nwhile True:\n    pass\n"


def start_hogs(n: int) -> list[subprocess.Popen]:
    """``n`` processes spinning on this process's cores, at the niceness of Ray's workers."""
    cores = os.sched_getaffinity(0)
    hogs = []
    for _ in range(n):
        p = subprocess.Popen([sys.executable, "-c", HOG], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.sched_setaffinity(p.pid, cores)
        hogs.append(p)
    return hogs


def extract_shards(input_dir: Path, out: Path) -> dict[str, bytes]:
    r = run_cli("run", str(ROOT / "pipelines" / "fineweb.yaml"), "--input", str(input_dir), "--output", str(out),
                "--stages", "extract", "--no-progress", timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return {f.name: f.read_bytes() for f in sorted((out / "extract" / "shards").glob("*.parquet"))}


@pytest.mark.slow
@pytest.mark.real_data
def test_the_same_shards_alone_and_next_to_cpu_hogs(shared_data, tmp_path):
    """fineweb.yaml's extract stage on the real WARCs, alone and next to two spinning processes per
    core: byte-identical Parquet shards. (Under FineWeb's 1 s wall-clock rule the slower pages of
    these files, 0.4-0.7 s of CPU each, time out once they share a core three ways.)"""
    alone = extract_shards(shared_data / "warc", tmp_path / "alone")
    hogs = start_hogs(2 * len(os.sched_getaffinity(0)))
    try:
        loaded = extract_shards(shared_data / "warc", tmp_path / "loaded")
    finally:
        for p in hogs:
            p.kill()
            p.wait()
    assert alone and loaded.keys() == alone.keys()
    assert [k for k in alone if loaded[k] != alone[k]] == []
