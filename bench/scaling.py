"""Scaling on one GPU: train a ladder of model sizes for the same token budget, then fit the power law
of the final loss in parameters, L(N) = E + A / N^alpha (and the plain log-log line, E = 0).

    PYTHONPATH=. python3 -m bench.scaling --data OUTPUT/tokenize --tokens 20e6 --out /tmp/scaling     # one GPU
    PYTHONPATH=. python -m bench.scaling --data TOKENS --device cpu --tiny --out /tmp/scaling         # a CPU check

Every size trains through ``curation.trainer.train.train()`` (the code ``curation train`` runs) with
the same schedule: ``tokens // (batch * seq_len)`` steps, warmup 5%, cosine decay to lr/10, one
validation at the end (loss, perplexity and the last-word rulers on the val split). The loss fitted
is the final validation loss (the mean training loss of the last tenth of the steps where the val
split is empty). The GPU ladder: the presets (tiny, gpt2-small, gpt2-medium) and two sizes between
them; ``--tiny``: four small configurations that train in seconds on a CPU at short sequences.

At a fixed token budget, larger models are further from compute-optimal (fewer tokens per
parameter), so the fitted exponent describes this budget, not Chinchilla's frontier; the plan each
run prints says how far each size is. Imports only what the trainer imports (torch, numpy, pyarrow,
fsspec): it runs on a bare GPU image.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

# (name, layers, heads, width): the GPU ladder runs the presets and two sizes between them
GPU_LADDER = [("tiny", 2, 4, 64), ("l4-w256", 4, 4, 256), ("l6-w384", 6, 6, 384), ("gpt2-small", 12, 12, 768),
              ("gpt2-medium", 24, 16, 1024)]
TINY_LADDER = [("l1-w16", 1, 2, 16), ("l1-w32", 1, 2, 32), ("l2-w48", 2, 4, 48), ("l2-w64", 2, 4, 64)]


def fit_power_law(params: np.ndarray, losses: np.ndarray) -> dict[str, float | None]:
    """L = A N^-alpha (a line in log-log) and, with four sizes or more, L = E + A N^-alpha: E by grid
    search below the smallest loss, A and alpha by least squares in log(L - E) for each E; the E
    whose curve is closest to the losses (squared error) wins."""
    logn, logl = np.log(params), np.log(losses)
    slope, intercept = np.polyfit(logn, logl, 1)
    out: dict[str, float | None] = {"loglog_A": float(math.exp(intercept)), "loglog_alpha": float(-slope),
                                    "E": None, "A": None, "alpha": None}
    if len(params) >= 4:
        best = None
        for e in np.linspace(0.0, 0.999 * losses.min(), 2000):
            s, c = np.polyfit(logn, np.log(losses - e), 1)
            if s >= 0:  # loss must fall with size
                continue
            err = float(np.sum((e + np.exp(c) * params**s - losses) ** 2))
            if best is None or err < best[0]:
                best = (err, e, math.exp(c), -s)
        if best is not None:
            out.update(E=float(best[1]), A=float(best[2]), alpha=float(best[3]), sse=best[0])
    return out


def train_size(data: str, out: Path, name: str, n_layer: int, n_head: int, n_embd: int, steps: int, args: argparse.Namespace) -> dict:
    from curation.trainer.train import parse_args, train

    argv = ["--data", data, "--out", str(out / name), "--model", "tiny", "--n-layer", str(n_layer), "--n-head", str(n_head),
            "--n-embd", str(n_embd), "--steps", str(steps), "--batch-size", str(args.batch_size), "--lr", str(args.lr),
            "--eval-interval", "0", "--eval-batches", str(args.eval_batches), "--ckpt-interval", "0",
            "--log-interval", str(max(1, steps // 10)), "--device", args.device, "--seed", str(args.seed)]
    if args.compile:
        argv.append("--compile")
    t0 = time.perf_counter()
    summary = train(parse_args(argv))
    seconds = time.perf_counter() - t0
    train_losses = [h["loss"] for h in summary["history"] if "loss" in h]
    tail = [h["loss"] for h in summary["history"] if "loss" in h and h["step"] > steps - max(1, steps // 10)]
    loss = summary["val_loss"] if summary["val_loss"] is not None else float(np.mean(tail or train_losses[-1:]))
    return {"name": name, "n_layer": n_layer, "n_head": n_head, "n_embd": n_embd, "params": summary["params"], "steps": steps,
            "tokens": int(summary["plan"]["train_tokens"]), "loss": loss,
            "loss_is": "val" if summary["val_loss"] is not None else "train (last tenth)", "predicted_loss": summary["predicted_loss"],
            "last_word_exact": summary["last_word_exact"], "last_word_logprob": summary["last_word_logprob"],
            "energy_kwh": summary["energy_kwh"], "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="the tokenize stage's output (OUTPUT/tokenize)")
    p.add_argument("--out", default="bench_output/scaling", help="runs and scaling.json go here")
    p.add_argument("--tokens", type=float, help="training tokens per size (default: 20M, --tiny: 200k)")
    p.add_argument("--batch-size", type=int, help="sequences per step (default 32, --tiny 8)")
    p.add_argument("--lr", type=float, help="peak learning rate (default 6e-4, --tiny 3e-3)")
    p.add_argument("--eval-batches", type=int, default=20)
    p.add_argument("--device", default="auto")
    p.add_argument("--tiny", action="store_true", help="the small CPU ladder")
    p.add_argument("--sizes", help="comma-separated names of the ladder to run (default: all)")
    p.add_argument("--no-compile", dest="compile", action="store_false", help="no torch.compile on CUDA")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    import torch

    from curation.tokens import load_manifest

    cuda = torch.cuda.is_available() if args.device == "auto" else args.device.startswith("cuda")
    args.device = "cuda" if cuda and args.device == "auto" else ("cpu" if args.device == "auto" else args.device)
    args.compile = args.compile and cuda
    args.tokens = args.tokens or (2e5 if args.tiny else 2e7)
    args.batch_size = args.batch_size or (8 if args.tiny else 32)
    args.lr = args.lr or (3e-3 if args.tiny else 6e-4)
    ladder = TINY_LADDER if args.tiny else GPU_LADDER
    if args.sizes:
        wanted = args.sizes.split(",")
        ladder = [size for size in ladder if size[0] in wanted]
    seq_len = int(load_manifest(args.data)["seq_len"])
    steps = max(1, int(args.tokens // (args.batch_size * seq_len)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device_name = torch.cuda.get_device_name() if cuda else "cpu"
    print(f"scaling: {len(ladder)} sizes x {steps} steps x {args.batch_size} x {seq_len} tokens = {steps * args.batch_size * seq_len:,} "
          f"tokens each, on {device_name}", flush=True)
    results = []
    for name, n_layer, n_head, n_embd in ladder:
        print(f"=== {name}: {n_layer} layers x {n_embd} wide", flush=True)
        results.append(train_size(args.data, out, name, n_layer, n_head, n_embd, steps, args))
        (out / "scaling.json").write_text(json.dumps({"device": device_name, "sizes": results}, indent=1))  # kept if a later size fails
    params = np.array([r["params"] for r in results], dtype=float)
    losses = np.array([r["loss"] for r in results], dtype=float)
    fit = fit_power_law(params, losses) if len(results) >= 2 else {}
    (out / "scaling.json").write_text(json.dumps({"device": device_name, "sizes": results, "fit": fit}, indent=1))

    print(f"\n{'size':<13}{'params':>12}{'tokens':>12}{'loss':>8}  {'(loss is)':<19}{'fit pred.':>10}{'last word':>11}{'log-prob':>10}"
          f"{'kWh':>10}{'seconds':>9}")
    for r in results:
        exact = f"{100 * r['last_word_exact']:.1f}%" if r["last_word_exact"] is not None else "-"
        logp = f"{r['last_word_logprob']:.3f}" if r["last_word_logprob"] is not None else "-"
        kwh = f"{r['energy_kwh']:.3g}" if r["energy_kwh"] is not None else "-"
        print(f"{r['name']:<13}{r['params']:>12,}{r['tokens']:>12,}{r['loss']:>8.3f}  {r['loss_is']:<19}{r['predicted_loss']:>10.3f}"
              f"{exact:>11}{logp:>10}{kwh:>10}{r['seconds']:>9.1f}")
    if fit:
        print(f"\nlog-log fit:  L(N) = {fit['loglog_A']:.4g} * N^-{fit['loglog_alpha']:.4f}")
        if fit["E"] is not None:
            print(f"power law:    L(N) = {fit['E']:.4f} + {fit['A']:.4g} * N^-{fit['alpha']:.4f}   (squared error {fit['sse']:.3g})")
            if fit["E"] == 0.0:
                print("              (E at its lower bound: these sizes show no floor yet, the log-log line is the fit)")
        else:
            print("power law with an offset E: needs four sizes or more")
        for r in results:
            if fit["E"] is not None:
                pred = fit["E"] + fit["A"] * r["params"] ** -fit["alpha"]
            else:
                pred = fit["loglog_A"] * r["params"] ** -fit["loglog_alpha"]
            print(f"  {r['name']:<13} measured {r['loss']:.4f}  fitted {pred:.4f}")
    print(f"wrote {out / 'scaling.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
