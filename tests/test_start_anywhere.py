"""Start from the data you have: a run reads Parquet, JSON Lines, WET files or a saved dataset and
starts at filter, dedup or tokenize; our own output read back gives the same results; a missing
field, a bad file or an unreachable host is one clear line. Runs use the local executor (no Ray)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.config import load_pipeline
from curation.errors import InputError
from curation.execution import run_pipeline
from curation.io.shards import read_documents
from curation.verify import verify
from tests.conftest import ROOT, free_port, run_cli

FINEWEB = ROOT / "pipelines" / "fineweb.yaml"


def run(pipeline, input, output, stages=None):
    config = pipeline if not isinstance(pipeline, (str, Path)) else load_pipeline(pipeline)
    results = run_pipeline(config, None if input is None else str(input), str(output), stages=stages, progress=False, executor="local")
    assert all(not r.shards_failed for r in results), [r.shards_failed for r in results]
    return results


def documents(stage_dir: Path) -> list:
    return sorted((d for f in sorted((stage_dir / "shards").iterdir()) for d in read_documents(str(f))), key=lambda d: d.id)


def token_shards(output: Path) -> dict[str, list[str]]:
    manifest = json.loads((output / "tokenize" / "manifest.json").read_text())
    return {split: [s["sha256"] for s in info["shards"]] for split, info in manifest["splits"].items()}


def with_settings(tmp_path: Path, name: str, top: str = "", stage_options: dict[str, str] | None = None) -> Path:
    """fineweb.yaml with top-level keys added and stages turned into mappings with options."""
    text = FINEWEB.read_text()
    for stage, options in (stage_options or {}).items():
        head = f"  {stage}:"
        start = text.index(head)
        end = min((text.index(f"\n  {s}:", start) for s in ("filter", "dedup", "tokenize") if f"\n  {s}:" in text[start + 1:]), default=len(text))
        body = text[start:end].split("\n")[1:]
        text = text[:start] + f"  {stage}:\n    {options}\n    steps:\n" + "\n".join("  " + line if line.strip() else line for line in body) + text[end:]
    path = tmp_path / name
    path.write_text(top + text)
    load_pipeline(path)
    return path


@pytest.fixture(scope="module")
def base(sample, tmp_path_factory):
    """The FineWeb pipeline on the bundled sample, from its WARC files."""
    out = tmp_path_factory.mktemp("base")
    run(FINEWEB, sample[0], out)
    return out


@pytest.mark.slow
def test_our_parquet_output_read_back_as_input_gives_the_same_results(base, tmp_path):
    out = tmp_path / "again"
    run(FINEWEB, base / "extract" / "shards", out, stages=["filter", "dedup", "tokenize"])
    for stage in ("filter", "dedup"):
        assert [(d.id, d.text) for d in documents(out / stage)] == [(d.id, d.text) for d in documents(base / stage)], stage
    assert token_shards(out) == token_shards(base)
    assert verify(str(out))[1] == []


@pytest.mark.slow
def test_jsonl_shards_give_the_same_results_and_read_back_as_input(base, sample, tmp_path):
    pipeline = with_settings(tmp_path, "jsonl.yaml", top="output_format: jsonl.gz\n")
    out = tmp_path / "jsonl"
    run(pipeline, sample[0], out, stages=["extract"])
    shards = sorted((out / "extract" / "shards").iterdir())
    assert shards and all(f.name.endswith(".jsonl.gz") for f in shards)
    row = json.loads(__import__("gzip").open(shards[0]).readline())  # a nested object other tools read as it is
    assert set(row) == {"id", "url", "date", "text", "source", "language", "language_score", "metadata"} and isinstance(row["metadata"], dict)
    assert [(d.id, d.text, d.url, d.date) for d in documents(out / "extract")] == [(d.id, d.text, d.url, d.date) for d in documents(base / "extract")]
    run(pipeline, None, out, stages=["filter", "dedup", "tokenize"])  # the next stages read JSON Lines shards
    assert [d.id for d in documents(out / "dedup")] == [d.id for d in documents(base / "dedup")]
    again = tmp_path / "again"
    run(FINEWEB, out / "extract" / "shards", again, stages=["filter", "dedup", "tokenize"])  # JSON Lines as input
    assert [(d.id, d.text) for d in documents(again / "dedup")] == [(d.id, d.text) for d in documents(base / "dedup")]
    assert token_shards(again) == token_shards(out) == token_shards(base)
    assert verify(str(out))[1] == [] and verify(str(again))[1] == []


def fineweb_parquet(base: Path, folder: Path) -> Path:
    """FineWeb-style Parquet files (text, id, url, date, dump; no language column) of the sample's filtered documents."""
    folder.mkdir()
    for i, f in enumerate(sorted((base / "filter" / "shards").iterdir())):
        docs = list(read_documents(str(f)))
        pq.write_table(pa.table({"text": [d.text for d in docs], "id": [d.id for d in docs], "url": [d.url for d in docs],
                                 "date": [d.date for d in docs], "dump": ["CC-MAIN-2024-10"] * len(docs)}), folder / f"{i:03d}_00000.parquet")
    return folder


@pytest.mark.slow
def test_a_parquet_input_without_language_goes_through_dedup_and_tokenize(base, tmp_path):
    docs = fineweb_parquet(base, tmp_path / "fineweb")
    out = tmp_path / "out"
    results = run(FINEWEB, docs, out, stages=["dedup", "tokenize"])
    assert [r.stage for r in results] == ["read", "dedup", "tokenize"]
    assert [d.id for d in documents(out / "dedup")] == [d.id for d in documents(base / "dedup")]
    assert token_shards(out) == token_shards(base)
    assert verify(str(out))[1] == []
    only_tokens = tmp_path / "tokens"
    run(FINEWEB, docs, only_tokens, stages=["tokenize"])
    assert json.loads((only_tokens / "tokenize" / "manifest.json").read_text())["splits"]["train"]["documents"] > 0


@pytest.mark.slow
def test_a_wet_file_starts_a_run_at_the_filter_stage(base, tmp_path):
    from tests.test_readers import write_wet

    folder = tmp_path / "wet"
    folder.mkdir()
    for f in sorted((base / "extract" / "shards").iterdir()):
        write_wet(folder / f"{f.name.split('.')[0]}.warc.wet.gz", [{"id": d.id, "url": d.url, "date": d.date, "text": d.text} for d in read_documents(str(f))])
    out = tmp_path / "out"
    run(FINEWEB, folder, out, stages=["filter"])
    assert sorted(d.url for d in documents(out / "filter")) == sorted(d.url for d in documents(base / "filter"))
    stats = json.loads((out / "filter" / "stats.json").read_text())
    assert [s["name"] for s in stats["steps"]][:2] == ["wet_reader", "language"]  # no extraction


def test_the_pipeline_file_names_the_reader_and_its_mapping(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    pq.write_table(pa.table({"content": ["a first text. " * 30, "a second text. " * 30], "link": ["https://a.example/", "https://b.example/"]}),
                   folder / "x.parquet")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: mine\ninput:\n  parquet_reader: {text_key: content, url_key: link}\nstages:\n"
                        "  dedup:\n    keep_rejected: true\n    steps:\n      - exact_dedup: {on: [text, url]}\n")
    out = tmp_path / "out"
    run(pipeline, folder, out)
    kept = documents(out / "dedup")
    assert [d.url for d in kept] == ["https://a.example/", "https://b.example/"] and kept[0].id == f"{folder / 'x.parquet'}/0"
    assert json.loads((out / "run.json").read_text())["reader"] == {"parquet_reader": {"text_key": "content", "id_key": "id", "url_key": "link",
                                                                                       "date_key": "date", "batch_size": 1000}}


def test_a_field_a_step_needs_is_one_line_before_any_work(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    pq.write_table(pa.table({"text": ["some text"] * 3}), folder / "nourl.parquet")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: t\nstages:\n  dedup:\n    - exact_dedup: {on: [text, url]}\n")
    out = tmp_path / "out"
    proc = run_cli("run", str(pipeline), "--input", str(folder), "--output", str(out), "--executor", "local", timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"{folder / 'nourl.parquet'} has no url field (url_key: 'url'), which step 'exact_dedup' of stage 'dedup' needs" in proc.stderr
    assert not out.exists()  # nothing started
    pipeline.write_text("name: t\ninput: {parquet_reader: {text_key: body}}\nstages:\n  dedup:\n    - exact_dedup: {}\n")
    proc = run_cli("run", str(pipeline), "--input", str(folder), "--output", str(out), "--executor", "local", timeout=120)
    assert proc.returncode == 2 and "has no text field (text_key: 'body'), which step 'exact_dedup'" in proc.stderr and not out.exists()


def test_a_bad_file_fails_its_shard_alone_and_the_rest_goes_on(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("a-broken.parquet", "b-good.parquet", "c-other-mapping.parquet"):
        column = "content" if name.startswith("c") else "text"
        pq.write_table(pa.table({column: [f"{name} text {i}. " * 20 for i in range(5)]}), folder / name)
    (folder / "a-broken.parquet").write_bytes((folder / "a-broken.parquet").read_bytes()[:-50])
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: t\nstages:\n  dedup:\n    - exact_dedup: {}\n")
    out = tmp_path / "out"
    proc = run_cli("run", str(pipeline), "--input", str(folder), "--output", str(out), "--stages", "dedup", "--executor", "local",
                   "--no-progress", timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    failures = sorted(json.loads(f.read_text())["error"] for f in (out / "read" / "_failed").iterdir())
    assert len(failures) == 2
    assert f"{folder / 'a-broken.parquet'}: not a readable Parquet file" in failures[0]
    assert f"{folder / 'c-other-mapping.parquet'}: no field 'text' (text_key)" in failures[1]
    assert [d.text.split()[0] for d in documents(out / "dedup")] == ["b-good.parquet"] * 5


def test_warc_files_start_at_extract_and_mixed_kinds_need_a_named_reader(sample, tmp_path):
    with pytest.raises(InputError, match="start at the extract stage"):
        run(FINEWEB, sample[0], tmp_path / "o", stages=["filter"])
    folder = tmp_path / "mixed"
    folder.mkdir()
    pq.write_table(pa.table({"text": ["x"]}), folder / "a.parquet")
    (folder / "b.jsonl").write_text('{"text": "y"}\n')
    with pytest.raises(InputError, match="holds files of several kinds .* name the reader under `input:`"):
        run(FINEWEB, folder, tmp_path / "o", stages=["dedup"])
    with pytest.raises(InputError, match="documents, not crawl files: start past extraction"):
        run(FINEWEB, folder / "a.parquet", tmp_path / "o")


def test_make_passes_input_to_the_stage_targets_only_when_given():
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make")

    def command(*args: str) -> str:
        out = subprocess.run([make, "-n", *args], capture_output=True, text=True, cwd=ROOT, timeout=60).stdout
        return next(line for line in out.splitlines() if " run " in line)

    assert command("dedup", "INPUT=docs/", "OUTPUT=o").split()[-4:] == ["--stages", "dedup", "--input", "docs/"]
    assert "--input" not in command("tokenize")
    assert command("tokenize", "INPUT=docs/").endswith("--stages tokenize --input docs/")
    assert command("extract").endswith("--stages extract --input sample_data")


def test_an_unreachable_crawl_listing_is_one_line_naming_the_url_and_the_attempts(tmp_path):
    base = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc = run_cli("run", str(FINEWEB), "--input", "CC-MAIN-2099-99", "--output", str(tmp_path / "o"), "--executor", "local",
                   env={"CURATION_CC_BASE_URL": base, "CURATION_BACKOFF_BASE": "0.01"}, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith(f"error: cannot read {base}/crawl-data/CC-MAIN-2099-99/warc.paths.gz: ") and "gave up after 6 attempts" in proc.stderr
    proc = run_cli("run", str(FINEWEB), "--input", "CC-MAIN-2099-99", "--stages", "filter", "--output", str(tmp_path / "o"), "--executor", "local",
                   env={"CURATION_CC_BASE_URL": base, "CURATION_BACKOFF_BASE": "0.01"}, timeout=120)
    assert f"{base}/crawl-data/CC-MAIN-2099-99/wet.paths.gz" in proc.stderr  # a run past extraction reads the crawl's WET files


def test_a_host_name_that_does_not_resolve_is_one_line_naming_the_url(monkeypatch):
    from curation.io.sources import resolve_inputs

    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # no lookup leaves the machine
    monkeypatch.setenv("CURATION_CC_BASE_URL", "https://cc.example.invalid")
    for spec, url in (("https://files.example.invalid/a.warc.gz", "https://files.example.invalid/a.warc.gz"),
                      ("CC-MAIN-2099-99", "https://cc.example.invalid/crawl-data/CC-MAIN-2099-99/warc.paths.gz")):
        with pytest.raises(InputError) as e:
            resolve_inputs(spec)
        assert str(e.value).startswith(f"cannot read {url}: ") and "gave up after 6 attempts" in str(e.value), str(e.value)
