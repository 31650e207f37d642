"""Benchmark of the bundled trainer: is the token loader ever the bottleneck, and how fast is training?

    .venv/bin/python -m bench.bench_trainer                                  # CPU (below)
    .venv/bin/python -m bench.bench_trainer --steps 60 --warmup-steps 10     # on a CUDA machine: adds (c)
    bash bench/gpu_trainer.sh TOKENS_DIR OUT_DIR                             # the GPU runs in BENCHMARKS.md

(a) loader throughput: tokens/s that ``TokenLoader`` delivers from the shards (Parquet decode, the
    copy into the batch, the int64 widening; on CUDA also pinned memory and the copy to the GPU),
    with nothing else running, from one background thread as in training;
(b) the model's consumption on the CPU: tokens/s of a whole training step (forward, backward,
    AdamW) of ``tiny`` and ``gpt2-small`` at the shards' sequence length (skipped on CUDA machines
    unless ``--cpu-models``);
(c) on CUDA: ``train()`` itself on ``gpt2-small`` at seq 1024, bf16 autocast, torch.compile, fused
    AdamW: tokens/s, MFU and the fraction of step time spent waiting for data, averaged over the
    steps after ``--warmup-steps`` (compilation happens in the first steps).

Shards: ``--data OUTPUT/tokenize``, or by default a synthetic set written once to
``bench_output/trainer/tokens`` in the tokenize stage's exact layout (seq_len 1024, 1,024-row row
groups, zstd) with Zipf-distributed token ids, which compress about as real GPT-2 tokens do.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent


def synthetic_shards(out: Path, tokens: int, seq_len: int = 1024, shard_sequences: int = 4096, seed: int = 0) -> Path:
    """Token shards with the tokenize stage's schema and manifest (no pipeline run needed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.tokenization.pack import shard_schema
    from curation.tokenization.step import TokenizeStep
    from curation.tokenization.tokenizer import tokenizer_info

    if (out / "manifest.json").exists():
        return out
    info = tokenizer_info("gpt2")
    params = TokenizeStep.Params(seq_len=seq_len, row_group_sequences=1024)
    width = seq_len + 1
    rng = np.random.default_rng(seed)
    splits = {}
    for split, n_rows in (("train", tokens // width), ("val", max(64, tokens // width // 100))):
        shards = []
        for i, start in enumerate(range(0, n_rows, shard_sequences)):
            rows = min(shard_sequences, n_rows - start)
            stream = (rng.zipf(1.15, rows * width) % info.vocab_size).astype(np.uint16)
            schema = shard_schema(info, params, split)
            table = pa.Table.from_arrays([
                pa.FixedSizeListArray.from_arrays(pa.array(stream, type=pa.uint16()), type=schema.field("tokens").type),
                pa.array([[] for _ in range(rows)], type=schema.field("doc_starts").type),
                pa.array(np.full(rows, width, np.int32)),
            ], schema=schema)
            path = f"{split}/part-{i:05d}.parquet"
            (out / split).mkdir(parents=True, exist_ok=True)
            pq.write_table(table, out / path, row_group_size=1024, compression="zstd", use_dictionary=False,
                           write_statistics=False, data_page_size=1 << 20)
            shards.append({"path": path, "sequences": rows, "tokens": rows * width, "padding_tokens": 0, "documents": 0,
                           "bytes": (out / path).stat().st_size})
        splits[split] = {"shards": shards, "sequences": sum(s["sequences"] for s in shards), "tokens": sum(s["tokens"] for s in shards)}
    manifest = {"format": "curation-tokens/1", "tokenizer": info.to_dict(), "vocab_size": info.vocab_size, "eos_id": info.eos_id,
                "dtype": info.dtype, "seq_len": seq_len, "sequence_tokens": width, "seed": seed, "splits": splits, "plan": "synthetic"}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return out


def loader_throughput(data: str, device: str, batch_size: int, seconds: float) -> dict:
    import torch

    from curation.trainer.data import TokenLoader

    loader = TokenLoader(data, "train", batch_size, seed=0, device=device)
    next(loader)  # thread started, first row group read
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        x, _ = next(loader)
        n += x.numel()
    if device != "cpu":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    loader.close()
    manifest = loader.manifest
    stored = sum(s["bytes"] for s in manifest["splits"]["train"]["shards"])
    return {"device": device, "batch_size": batch_size, "tokens_per_s": n / dt,
            "bytes_per_token": stored / manifest["splits"]["train"]["tokens"]}


def model_throughput(preset: str, vocab_size: int, seq_len: int, batch_size: int, steps: int) -> dict:
    """tokens/s of forward + backward + AdamW on the CPU (the first step is not timed)."""
    import torch

    from curation.trainer.model import GPT, GPTConfig

    torch.manual_seed(0)
    config = GPTConfig.preset(preset, vocab_size, seq_len)
    model = GPT(config)
    opt = model.configure_optimizer(1e-4, 0.1, (0.9, 0.95), fused=False)
    x = torch.randint(0, vocab_size, (batch_size, seq_len))
    times = []
    for _ in range(steps + 1):
        t0 = time.perf_counter()
        _, loss = model(x, x)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    dt = sum(times[1:]) / steps
    return {"model": preset, "params": model.num_params(), "batch_size": batch_size, "seq_len": seq_len,
            "tokens_per_s": batch_size * seq_len / dt, "seconds_per_step": dt}


def matmul_peak(n: int = 8192, repeats: int = 10) -> float:
    """Measured bf16 FLOP/s of an n x n x n matrix product on this GPU (random data, after warm-up):
    the ceiling that MFU against the spec sheet's peak is best read next to."""
    import torch

    a, b = (torch.randn(n, n, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    for _ in range(3):
        a @ b
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        a @ b
    end.record()
    torch.cuda.synchronize()
    return 2 * n**3 * repeats / (start.elapsed_time(end) / 1000)


def gpu_training(data: str, out: str, steps: int, warmup: int, batch_size: int, compile: bool) -> dict:
    from curation.trainer.train import parse_args, train

    argv = ["--data", data, "--out", out, "--model", "gpt2-small", "--steps", str(steps), "--batch-size", str(batch_size),
            "--log-interval", "5", "--eval-batches", "0", "--ckpt-interval", "0", "--warmup-steps", str(max(1, warmup)), "--device", "cuda"]
    summary = train(parse_args(argv + (["--compile"] if compile else [])))
    timed = [h for h in summary["history"] if "loss" in h and h["step"] - h["window"] >= warmup]  # windows after the warmup
    if not timed:
        raise SystemExit(f"no logged window after {warmup} warmup steps: raise --steps")
    seconds = [h["seconds"] * h["window"] for h in timed]
    total = sum(seconds)

    def mean(key):  # time-weighted over the timed windows
        return None if timed[0][key] is None else sum(h[key] * s for h, s in zip(timed, seconds)) / total

    return {"model": "gpt2-small", "params": summary["params"], "compile": compile, "batch_size": batch_size,
            "steps_timed": sum(h["window"] for h in timed), "tokens_per_s": mean("tokens_per_s"), "mfu": mean("mfu"),
            "data_wait": mean("data_wait"), "ms_per_step": 1000 * total / sum(h["window"] for h in timed), "final_loss": summary["final_loss"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="OUTPUT/tokenize to read (default: synthetic shards)")
    ap.add_argument("--tokens", type=int, default=20_000_000, help="size of the synthetic train split")
    ap.add_argument("--work", default=str(REPO_ROOT / "bench_output" / "trainer"))
    ap.add_argument("--loader-seconds", type=float, default=5.0)
    ap.add_argument("--cpu-models", action="store_true", help="time the models on the CPU even where CUDA is available")
    ap.add_argument("--cpu-steps", type=int, default=2, help="timed CPU training steps per model")
    ap.add_argument("--steps", type=int, default=60, help="GPU training steps")
    ap.add_argument("--warmup-steps", type=int, default=10, help="GPU steps left out of the averages (compilation)")
    ap.add_argument("--batch-size", type=int, default=16, help="GPU sequences per step")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)

    import torch

    work = Path(args.work)
    data = args.data or str(synthetic_shards(work / "tokens", args.tokens))
    manifest = json.loads((Path(data) / "manifest.json").read_text())
    seq_len, vocab = manifest["seq_len"], manifest["vocab_size"]
    cuda = torch.cuda.is_available()
    print(f"shards: {data} ({manifest['splits']['train']['tokens']:,} train tokens, seq_len {seq_len}); torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads, {torch.cuda.get_device_name() if cuda else 'no GPU'}")
    results: dict = {"torch": torch.__version__, "device": torch.cuda.get_device_name() if cuda else "cpu", "loader": [], "cpu_models": [], "gpu": None}

    print("\n(a) loader alone (one background thread)")
    for device in ["cpu"] + (["cuda"] if cuda else []):
        r = loader_throughput(data, device, 16, args.loader_seconds)
        results["loader"].append(r)
        print(f"  to {device:5s} batch 16 x {seq_len}: {r['tokens_per_s']:>13,.0f} tokens/s  ({r['bytes_per_token']:.2f} stored bytes/token)")

    if not cuda or args.cpu_models:
        print(f"\n(b) the model on the CPU: forward + backward + AdamW, seq {seq_len}")
        loader_rate = results["loader"][0]["tokens_per_s"]
        for preset, batch in (("tiny", 4), ("gpt2-small", 1)):  # small batches: 50k-wide logits fill the RAM
            r = model_throughput(preset, vocab, seq_len, batch, args.cpu_steps)
            r["loader_headroom"] = loader_rate / r["tokens_per_s"]
            results["cpu_models"].append(r)
            print(f"  {preset:11s} {r['params'] / 1e6:6.1f}M  batch {batch:2d}: {r['tokens_per_s']:>11,.0f} tokens/s "
                  f"({r['seconds_per_step']:.2f} s/step); the loader is {r['loader_headroom']:,.0f}x faster")

    if cuda:
        results["matmul_bf16_flops"] = matmul_peak()
        print(f"\nmeasured bf16 matmul (8192^3, random data): {results['matmul_bf16_flops'] / 1e12:.0f} TFLOP/s")
        print(f"\n(c) train() on {torch.cuda.get_device_name()}: gpt2-small, seq {seq_len}, batch {args.batch_size}, bf16, "
              f"{'eager' if args.no_compile else 'torch.compile'}, {args.steps} steps ({args.warmup_steps} not timed)")
        r = gpu_training(data, str(work / "gpu_run"), args.steps, args.warmup_steps, args.batch_size, not args.no_compile)
        results["gpu"] = r
        mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "- (unknown peak)"
        if r["mfu"] is not None:
            from curation.trainer.train import peak_flops

            r["mfu_vs_measured_matmul"] = r["mfu"] * peak_flops(torch.device("cuda")) / results["matmul_bf16_flops"]
            mfu += f" of the spec peak, {100 * r['mfu_vs_measured_matmul']:.1f}% of the measured matmul rate"
        print(f"  {r['tokens_per_s']:,.0f} tokens/s | MFU {mfu} | {r['ms_per_step']:.1f} ms/step | waiting for data "
              f"{100 * r['data_wait']:.2f}% of step time | loss {r['final_loss']:.3f}")
        gpu_loader = results["loader"][-1]["tokens_per_s"]
        print(f"  the loader alone delivers {gpu_loader / r['tokens_per_s']:.1f}x what training consumes")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    sys.exit(main())
