"""The bundled trainer on CPU: the loss falls on shards made from the bundled sample, a resumed run
repeats an uninterrupted one, two torchrun processes read disjoint data, and the loader resumes at
the exact next sequence."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the trainer needs torch (make install-trainer)")

from curation.config import load_pipeline  # noqa: E402
from curation.execution import run_pipeline  # noqa: E402
from curation.trainer.data import TokenLoader, list_row_groups  # noqa: E402
from curation.trainer.energy import EnergyMeter  # noqa: E402
from curation.trainer.model import GPT, GPTConfig  # noqa: E402
from curation.trainer.sample import sample_text  # noqa: E402
from curation.trainer.train import checkpoint_urls, load_checkpoint, lr_at, parse_args, train  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

STEPS, CKPT = 30, 15


@pytest.fixture(scope="module")
def padded_tokens(trainer_tokens, tmp_path_factory) -> Path:
    """The same documents tokenized with ``last_sequence: pad``: every shard ends with a padded row."""
    out = tmp_path_factory.mktemp("trainer_pad")
    shutil.copytree(trainer_tokens.parent / "dedup", out / "dedup")
    text = (trainer_tokens.parent.parent / "pipeline.yaml").read_text().replace("row_group_sequences: 16", "row_group_sequences: 16, last_sequence: pad")
    (out / "pipeline.yaml").write_text(text)
    (result,) = run_pipeline(load_pipeline(out / "pipeline.yaml"), None, str(out), stages=["tokenize"], progress=False)
    assert not result.shards_failed
    return out / "tokenize"


def run_args(data: Path, out: Path, *extra: str):
    return parse_args(["--data", str(data), "--out", str(out), "--model", "tiny", "--steps", str(STEPS), "--batch-size", "8",
                       "--lr", "3e-3", "--warmup-steps", "3", "--log-interval", "1", "--eval-interval", "0", "--eval-batches", "4",
                       "--ckpt-interval", str(CKPT), "--keep-checkpoints", "5", "--device", "cpu", "--seed", "1", *extra])


@pytest.fixture(scope="module")
def uninterrupted(trainer_tokens, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("run_a")
    return out, train(run_args(trainer_tokens, out))


def losses(summary: dict) -> dict[int, float]:
    return {h["step"]: h["loss"] for h in summary["history"] if "loss" in h}


# ----------------------------------------------------------------------------------------------
# Training


@pytest.mark.ray
def test_loss_falls(uninterrupted):
    out, summary = uninterrupted
    curve = losses(summary)
    assert sorted(curve) == list(range(1, STEPS + 1))
    first, last = curve[1], sum(curve[s] for s in range(STEPS - 4, STEPS + 1)) / 5
    assert first > 10.0  # ln(50k): a uniform guess
    assert last < first - 2.0, curve
    assert summary["val_loss"] is not None and summary["val_loss"] < first - 2.0
    assert [Path(u).name for u in checkpoint_urls(str(out))] == ["ckpt-00000015.pt", "ckpt-00000030.pt"]
    assert (out / "metrics.jsonl").read_text().count("\n") == STEPS + 1  # every step and the final validation


@pytest.mark.ray
def test_cpu_run_records_energy_as_absent_and_the_prediction_beside_the_loss(uninterrupted, trainer_tokens):
    out, summary = uninterrupted
    entries = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    logged = [e for e in entries if "loss" in e]
    assert logged and all("energy_kwh" in e and e["energy_kwh"] is None for e in logged)  # absent, not zero
    assert summary["energy_kwh"] is None and summary["power"] is None
    assert all(e["predicted_loss"] > 0 for e in entries)
    # the prediction is the Chinchilla fit at (parameters, tokens seen so far)
    from curation.plan import FITS

    manifest = json.loads((trainer_tokens / "manifest.json").read_text())
    data_tokens = manifest["splits"]["train"]["sequences"] * manifest["seq_len"]
    first = logged[0]
    assert first["tokens"] < data_tokens and first["predicted_loss"] == pytest.approx(FITS["hoffmann2022"].loss(summary["params"], first["tokens"]))
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["energy_kwh"] is None and on_disk["predicted_loss"] == summary["plan"]["rows"][0]["loss"]
    assert on_disk["val_loss"] == summary["val_loss"] and on_disk["knowledge_cutoff"] == manifest["knowledge_cutoff"]
    val = entries[-1]
    assert val["val_perplexity"] == pytest.approx(math.exp(val["val_loss"]))
    assert val["last_word_documents"] > 0 and 0.0 <= val["last_word_exact"] <= 1.0 and val["last_word_logprob"] < 0


def test_energy_meter_integrates_power_or_reads_the_counter():
    now = [0.0]
    meter = EnergyMeter(lambda: 250.0, interval=3600, clock=lambda: now[0]).start()  # the thread never wakes: samples on demand
    now[0] = 36.0
    assert meter.joules() == pytest.approx(250.0 * 36.0)  # 9 kJ
    now[0] = 72.0
    stats = meter.stop()
    assert stats["kwh"] == pytest.approx(250.0 * 72.0 / 3.6e6) and stats["mean_watts"] == 250.0 and stats["source"] == "nvml power samples"
    counter = [1000.0]
    meter = EnergyMeter(lambda: 250.0, lambda: counter[0], interval=3600).start()
    counter[0] = 1000.0 + 7200.0
    assert meter.stop()["kwh"] == pytest.approx(7200.0 / 3.6e6)  # the counter's difference, whatever the samples
    assert EnergyMeter.for_device(torch.device("cpu")) is None  # no GPU: no meter, energy absent


@pytest.mark.ray
def test_resume_repeats_the_uninterrupted_run(uninterrupted, trainer_tokens, tmp_path):
    out_a, summary_a = uninterrupted
    shutil.copy(out_a / f"ckpt-{CKPT:08d}.pt", tmp_path / f"ckpt-{CKPT:08d}.pt")  # as if stopped after step 15
    summary_b = train(run_args(trainer_tokens, tmp_path, "--resume"))
    a, b = losses(summary_a), losses(summary_b)
    assert sorted(b) == list(range(CKPT + 1, STEPS + 1))
    assert [b[s] for s in sorted(b)] == [a[s] for s in sorted(b)]  # bitwise: same weights, moments, lr and batches
    final_a, final_b = load_checkpoint(str(out_a)), load_checkpoint(str(tmp_path))
    assert final_a["ranks"][0]["loader"] == final_b["ranks"][0]["loader"]
    for name, w in final_a["model"].items():
        assert torch.equal(final_b["model"][name], w), name


@pytest.mark.ray
def test_sample_text_from_checkpoint(uninterrupted):
    out, _ = uninterrupted
    text = sample_text(str(out), "The", max_new_tokens=8, temperature=0.8, top_k=50, device="cpu")
    assert isinstance(text, str)
    cutoff = load_checkpoint(str(out))["data"]["knowledge_cutoff"]
    assert cutoff and cutoff.startswith("2024-")
    proc = subprocess.run([sys.executable, "-m", "curation.cli", "sample-text", str(out), "--prompt", "The", "--max-new-tokens", "4",
                           "--device", "cpu"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0 and f"knowledge cut-off: {cutoff}" in proc.stderr and proc.stdout.startswith("The")
    assert sample_text(str(out), "The", max_new_tokens=8, top_k=50, device="cpu") == text  # seeded


@pytest.mark.ray
def test_two_processes_under_torchrun_read_disjoint_data(trainer_tokens, tmp_path):
    steps, batch = 3, 4
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "curation.trainer.train",
           "--data", str(trainer_tokens), "--out", str(tmp_path), "--model", "tiny", "--steps", str(steps), "--batch-size", str(batch),
           "--grad-accum", "2", "--log-interval", "1", "--eval-batches", "2", "--device", "cpu"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "2 process(es) on cpu" in proc.stdout and "val loss" in proc.stdout
    ckpt = load_checkpoint(str(tmp_path))
    assert ckpt["step"] == steps and [r["loader"]["rank"] for r in ckpt["ranks"]] == [0, 1]
    # Replay each rank's loader: it ends where the run's did, and the ranks' sequences are disjoint.
    seen = []
    for rank in (0, 1):
        loader = TokenLoader(str(trainer_tokens), "train", batch, seed=0, rank=rank, world_size=2)
        rows = [tuple(r) for _ in range(steps * 2) for r in loader.next_host().tolist()]
        assert loader.state_dict() == ckpt["ranks"][rank]["loader"]
        loader.close()
        seen.append(set(rows))
    assert len(seen[0]) == len(seen[1]) == steps * 2 * batch
    assert not seen[0] & seen[1]
    # resumed by one process: the weights continue, the data order restarts at a new epoch
    args = run_args(trainer_tokens, tmp_path, "--resume", "--batch-size", str(batch), "--seed", "0")
    args.steps, args.eval_batches = steps + 1, 0
    summary = train(args)
    assert [h["step"] for h in summary["history"]] == [steps + 1]
    assert load_checkpoint(str(tmp_path))["ranks"][0]["loader"]["epoch"] == 1


# ----------------------------------------------------------------------------------------------
# The loader


def stream(loader: TokenLoader, batches: int) -> list[tuple[int, ...]]:
    return [tuple(r) for _ in range(batches) for r in loader.next_host().tolist()]


@pytest.mark.ray
def test_loader_resumes_at_the_exact_next_sequence(trainer_tokens):
    per_epoch = sum(g.rows for g in list_row_groups(str(trainer_tokens), "train"))
    reference = TokenLoader(str(trainer_tokens), "train", 8, seed=3)
    rows = stream(reference, per_epoch // 8 + 20)  # into the second epoch
    reference.close()
    for batches in (1, 5, per_epoch // 8 + 3):  # after 5 batches: mid-row-group (16 rows each); the last: epoch 2
        first = TokenLoader(str(trainer_tokens), "train", 8, seed=3)
        stream(first, batches)
        state = first.state_dict()
        first.close()
        # a new loader, even with another batch size, continues with exactly the next sequence
        resumed = TokenLoader(str(trainer_tokens), "train", 5, seed=3)
        resumed.load_state_dict(state)
        assert stream(resumed, 20) == rows[8 * batches : 8 * batches + 100]
        resumed.close()
    assert state["epoch"] == 1
    x, y = next(TokenLoader(str(trainer_tokens), "train", 8, seed=3))
    assert x.dtype == y.dtype == torch.int64 and x.shape == y.shape == (8, 32)
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert [tuple(r) for r in torch.cat([x, y[:, -1:]], dim=1).tolist()] == rows[:8]


@pytest.mark.ray
def test_loader_order_is_seeded_and_ranks_partition_an_epoch(trainer_tokens):
    groups = list_row_groups(str(trainer_tokens), "train")
    total = sum(g.rows for g in groups)
    assert len(groups) > 100
    a, b = (TokenLoader(str(trainer_tokens), "train", 8, seed=s) for s in (0, 1))
    first = stream(a, 3)
    assert first == stream(TokenLoader(str(trainer_tokens), "train", 8, seed=0), 3)
    assert first != stream(b, 3)
    epoch = []
    for rank in range(3):
        loader = TokenLoader(str(trainer_tokens), "train", 1, seed=0, rank=rank, world_size=3, cycle=False, prefetch=64)
        epoch.append(stream(loader, sum(groups[i].rows for i in loader._rank_groups(0))))
        with pytest.raises(StopIteration):
            next(loader)
    assert sum(map(len, epoch)) == total  # every sequence once, each on one rank
    assert sorted(r for e in epoch for r in e) == sorted(stream(TokenLoader(str(trainer_tokens), "train", 1, shuffle=False), total))
    with pytest.raises(Exception, match="number of processes"):
        TokenLoader(str(trainer_tokens), "train", 8, rank=0, world_size=2).load_state_dict(a.state_dict())


@pytest.mark.ray
def test_loader_leaves_out_padded_rows(padded_tokens):
    import pyarrow.parquet as pq

    manifest = json.loads((padded_tokens / "manifest.json").read_text())
    shards = manifest["splits"]["train"]["shards"]
    assert all(s["padding_tokens"] > 0 for s in shards)
    data_rows = []
    for s in shards:
        t = pq.read_table(padded_tokens / s["path"], columns=["tokens", "num_tokens"])
        assert t.column("num_tokens").to_pylist()[-1] < 33
        data_rows += [tuple(r) for r, n in zip(t.column("tokens").to_pylist(), t.column("num_tokens").to_pylist()) if n == 33]
    loader = TokenLoader(str(padded_tokens), "train", 1, shuffle=False, cycle=False, prefetch=64)
    assert stream(loader, len(data_rows)) == data_rows
    with pytest.raises(StopIteration):
        next(loader)


# ----------------------------------------------------------------------------------------------
# The model and the schedule


def test_presets_and_flops():
    with torch.device("meta"):  # no memory, no init time
        for name, millions in (("gpt2-small", 124), ("gpt2-medium", 354)):
            config = GPTConfig.preset(name, vocab_size=50257, seq_len=1024)
            model = GPT(config)
            assert model.num_params() == config.num_params()
            assert round(model.num_params() / 1e6) == millions
            assert config.flops_per_token() == 6 * config.num_params() + 12 * config.n_layer * config.n_embd * 1024
        config = GPTConfig.preset("tiny", 50257, 32, norm="layernorm", bias=True)
        assert GPT(config).num_params() == config.num_params()
    assert GPTConfig.preset("tiny", 50257, 32).padded_vocab_size == 50304


def test_model_is_causal():
    torch.manual_seed(0)
    model = GPT(GPTConfig.preset("tiny", vocab_size=100, seq_len=16)).eval()
    x = torch.randint(0, 100, (2, 16))
    y = x.clone()
    y[:, 10:] = torch.randint(0, 100, (2, 6))
    targets = torch.zeros_like(x)
    la, lb = model(x, targets)[0], model(y, targets)[0]
    torch.testing.assert_close(la[:, :10], lb[:, :10])  # the future never leaks into the past
    out = model.generate(x[:, :4], 5, temperature=1.0, top_k=10, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 9) and int(out.max()) < 100  # never a padding id


def test_lr_schedule():
    args = parse_args(["--data", "x", "--steps", "100", "--lr", "1e-3", "--warmup-steps", "10"])
    args.min_lr = 1e-4
    assert lr_at(0, args) == pytest.approx(1e-4) and lr_at(9, args) == pytest.approx(1e-3)
    assert lr_at(10, args) == pytest.approx(1e-3) and lr_at(100, args) == pytest.approx(1e-4)
    assert all(lr_at(s, args) >= lr_at(s + 1, args) for s in range(10, 100))


def test_trainer_imports_without_the_curation_dependencies():
    """GPU images carry torch, numpy, pyarrow and fsspec but not Ray, pydantic or the tokenizer:
    the trainer and its loader must import (and so run) there."""
    code = (
        "import sys\n"
        "for m in ('ray', 'pydantic', 'tokenizers', 'xxhash', 'datatrove', 'trafilatura', 'fasttext'):\n"
        "    sys.modules[m] = None  # importing any of these now raises ImportError\n"
        "import curation.trainer.train, curation.trainer.data, curation.tokens\n"
        "import curation.trainer.heldout, curation.trainer.energy, curation.trainer.config, curation.plan\n"
        "import bench.bench_trainer, bench.scaling\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the planner is standard library only: `curation plan` needs no torch, numpy or fsspec
    code = "import sys\nimport curation.plan\nassert not {'torch', 'numpy', 'fsspec'} & set(sys.modules), sorted(sys.modules)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
