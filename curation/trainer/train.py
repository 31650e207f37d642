"""Train a GPT on the tokenize stage's shards: one GPU, many GPUs, many nodes, or the CPU.

    python -m curation.trainer.train --data OUTPUT/tokenize --model gpt2-small --steps 5000 \\
        --batch-size 16 --grad-accum 4 --lr 6e-4 --out runs/gpt2 --compile
    torchrun --nproc_per_node=8 -m curation.trainer.train --data ... (same options)
    torchrun --nnodes=2 --node_rank=0 --master_addr=HOST --master_port=29500 --nproc_per_node=8 \\
        -m curation.trainer.train --data s3://bucket/run/tokenize --out /shared/runs/gpt2 ...

Each optimizer step sees ``batch_size * grad_accum * processes`` sequences of ``seq_len`` tokens;
every process reads its own row groups (see data.py). ``--resume`` continues from the latest
checkpoint in ``--out`` exactly where it stopped: same weights, optimizer moments, learning rate,
random state and next batch. Checkpoints are read by every process, so with several nodes
``--out`` must be a shared folder (or s3://).

At the start it prints the run's plan (curation.plan: tokens per parameter, epochs, FLOPs, the loss
the Chinchilla fit predicts, GPU-hours and energy at the GPU's nominal power); while it trains it
measures the GPUs' energy (NVML, energy.py); every evaluation reports validation loss, perplexity
and the last-word rulers (heldout.py). metrics.jsonl records each log step's loss beside the fit's
prediction for the tokens seen so far and the energy used so far (null where there is no GPU
meter: absent, not zero); ``summary.json`` in ``--out`` holds the run's summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from curation.errors import CurationError
from curation.io.fs import atomic_write, atomic_write_bytes, filesystem, join, list_files
from curation.plan import Hardware, effective_tokens, format_plan, gpu_spec, make_plan, manifest_train_tokens
from curation.tokens import load_manifest
from curation.trainer import add_train_arguments
from curation.trainer.data import TokenLoader
from curation.trainer.energy import EnergyMeter
from curation.trainer.heldout import load_last_word_task, score_last_words, validation_loss
from curation.trainer.model import GPT, GPTConfig

CHECKPOINT_PREFIX = "ckpt-"


def peak_flops(device: torch.device) -> float | None:
    """Peak dense bf16 FLOP/s of the device (``curation.plan.GPUS``), or None where unknown (the CPU,
    other GPUs): no MFU then."""
    if device.type != "cuda":
        return None
    with contextlib.suppress(CurationError):
        return gpu_spec(torch.cuda.get_device_name(device)).peak_flops
    return None


def run_hardware(device: torch.device, world: int) -> Hardware | None:
    """The plan's hardware for this run: the GPU it runs on, or None (the CPU, or a GPU without figures)."""
    if device.type != "cuda":
        return None
    with contextlib.suppress(CurationError):
        return Hardware.resolve(torch.cuda.get_device_name(device), world)
    return None


def lr_at(step: int, args: argparse.Namespace) -> float:
    """Linear warmup to ``lr``, then cosine decay to ``min_lr`` at the last step."""
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    progress = min(1.0, (step - args.warmup_steps) / max(1, args.steps - args.warmup_steps))
    return args.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (args.lr - args.min_lr)


# ----------------------------------------------------------------------------------------------
# Checkpoints: one file per save, written under a temporary name and renamed into place


def checkpoint_urls(out: str) -> list[str]:
    """The checkpoints in ``out``, oldest first (names sort by step)."""
    return [u for u in list_files(out, ".pt") if u.rsplit("/", 1)[-1].startswith(CHECKPOINT_PREFIX)]


def load_checkpoint(url: str) -> dict[str, Any]:
    """A checkpoint file, or the latest checkpoint of a training output folder."""
    fs, path = filesystem(url)
    if fs.isdir(path):
        found = checkpoint_urls(url)
        if not found:
            raise CurationError(f"no checkpoint ({CHECKPOINT_PREFIX}*.pt) in {url}")
        url = found[-1]
        path = filesystem(url)[1]
    with fs.open(path, "rb") as f:
        return torch.load(f, map_location="cpu", weights_only=True)  # weights_only: no code runs on load


def save_checkpoint(out: str, step: int, state: dict[str, Any], keep: int) -> str:
    url = join(out, f"{CHECKPOINT_PREFIX}{step:08d}.pt")
    atomic_write(url, lambda f: torch.save(state, f))  # a crash mid-write never leaves a torn checkpoint
    fs = filesystem(out)[0]
    for old in checkpoint_urls(out)[: -max(1, keep)]:
        fs.rm(filesystem(old)[1])
    return url


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, torch.Tensor], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


# ----------------------------------------------------------------------------------------------
# Training


def setup_distributed(requested: str) -> tuple[int, int, int, torch.device]:
    """(rank, local rank, world size, device); joins the process group when launched by torchrun."""
    rank, local_rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    use_cuda = torch.cuda.is_available() if requested == "auto" else requested.startswith("cuda")
    device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")  # reads MASTER_ADDR etc. set by torchrun
    return rank, local_rank, world, device


def all_mean(values: list[float], device: torch.device, world: int) -> list[float]:
    if world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return (t / world).tolist()


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Run (or resume) a training run; returns a summary with the logged history (on every process)."""
    rank, _, world, device = setup_distributed(args.device)
    master = rank == 0
    log = print if master else (lambda *a, **k: None)
    manifest = load_manifest(args.data)
    args.min_lr = args.lr / 10 if args.min_lr is None else args.min_lr
    args.warmup_steps = max(1, args.steps // 20) if args.warmup_steps is None else max(1, args.warmup_steps)

    # Resume: the checkpoint's model config wins; the schedule and batch options are this command's.
    ckpt = None
    if args.resume:
        found = checkpoint_urls(args.out)
        if found:
            ckpt = load_checkpoint(found[-1])
            log(f"resuming from {found[-1]} (step {ckpt['step']})")
        else:
            log(f"--resume: no checkpoint in {args.out} yet; starting from scratch")
    overrides = dict(norm=args.norm, n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd)
    if ckpt is not None:
        config = GPTConfig.from_dict(ckpt["config"])
    else:
        config = GPTConfig.preset(args.model, manifest["vocab_size"], manifest["seq_len"], **overrides)

    torch.manual_seed(args.seed)  # the same initial weights on every process (DDP also broadcasts rank 0's)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # float32 matmuls outside autocast on tensor cores
        torch.backends.cudnn.allow_tf32 = True
    model = GPT(config).to(device)
    optimizer = model.configure_optimizer(args.lr, args.weight_decay, (args.beta1, args.beta2), fused=device.type == "cuda")
    train_loader = TokenLoader(args.data, "train", args.batch_size, seed=args.seed, rank=rank, world_size=world, device=device,
                               prefetch=args.prefetch, manifest=manifest)
    val_loader = None
    # validation batches may be smaller than training ones: a small val split still validates
    val_batch = min(args.batch_size, manifest["splits"]["val"]["sequences"] // world)
    if args.eval_batches > 0 and val_batch > 0:
        with contextlib.suppress(CurationError):  # fewer val row groups than processes: no validation
            val_loader = TokenLoader(args.data, "val", val_batch, seed=args.seed, rank=rank, world_size=world, device=device,
                                     shuffle=False, cycle=False, prefetch=args.prefetch, manifest=manifest)
    if val_loader is None and args.eval_batches > 0:
        log("no validation: the val split has fewer sequences (or row groups) than processes")
    step, resumed = 0, ckpt is not None
    energy_before: float | None = 0.0  # kWh of the steps before a resume (None: not measured then)
    if ckpt is not None:
        energy_before = ckpt.get("energy_kwh")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        step = ckpt["step"]
        saved = ckpt["ranks"]
        if len(saved) == world and saved[rank]["loader"]["fingerprint"] == train_loader.fingerprint:
            train_loader.load_state_dict(saved[rank]["loader"])  # exactly the batch that would have come next
            set_rng_state(saved[rank]["rng"], device)
        else:  # other shards or another number of processes: the old order cannot continue; start a new epoch
            epoch = max(r["loader"]["epoch"] for r in saved) + 1
            train_loader.seek_epoch(epoch)
            why = f"{len(saved)} process(es), this run has {world}" if len(saved) != world else "other token shards"
            log(f"warning: the checkpoint's data order was for {why}: it restarts at epoch {epoch}", file=sys.stderr)
        del ckpt, saved

    raw_model = model
    if args.compile:
        model = torch.compile(model)  # fuses the elementwise ops (norms, rotary, GELU) into few kernels
    eval_model = model  # evaluation needs no gradient sync: it bypasses the DDP wrapper
    if world > 1:
        model = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
    # bf16 autocast on CUDA: matmuls on tensor cores at half the bytes; float32 weights and optimizer
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    peak = peak_flops(device) if device.type == "cuda" else None
    flops_per_token = config.flops_per_token()
    tokens_per_step = args.batch_size * args.grad_accum * world * config.seq_len
    log(f"model {'from checkpoint' if resumed else args.model}: {raw_model.num_params() / 1e6:.1f}M parameters, "
        f"{config.n_layer} layers x {config.n_embd} wide, seq_len {config.seq_len}, vocab {config.vocab_size} "
        f"(padded {config.padded_vocab_size}); {world} process(es) on {device.type}; {tokens_per_step:,} tokens per step")
    # The plan of this run: its model, its tokens, on its hardware (curation.plan)
    params, data_tokens = raw_model.num_params(), manifest_train_tokens(manifest)
    model_name = args.model if not resumed and not any(o is not None for o in overrides.values()) else "this model"
    plan = make_plan(data_tokens, [(model_name, params, flops_per_token)], train_tokens=args.steps * tokens_per_step,
                     hardware=run_hardware(device, world), source=args.data, knowledge_cutoff=manifest.get("knowledge_cutoff"))
    log(format_plan(plan), flush=True)

    def predicted_loss(tokens: int) -> float:
        """The fit's loss for a run of ``tokens`` tokens (what the schedule, were it that long, would reach)."""
        return plan.fit.loss(params, effective_tokens(data_tokens, max(tokens, 1)))

    task, task_note = (load_last_word_task(args.data, manifest, args.eval_documents, config.seq_len)
                       if val_loader is not None else ([], "no last-word ruler: no validation"))
    log(task_note)
    meter = EnergyMeter.for_device(device)
    energy_note = f"energy: {meter.source} of {world} GPU(s)" if meter else "energy: not measured (no GPU meter): recorded as absent"
    if meter is not None and energy_before is None:
        energy_note += f"; the steps before {step} were not measured, so the energy counts from step {step}"
        energy_before = 0.0
    log(energy_note)
    if meter is not None:
        meter.start()

    def energy_kwh(this_process: float) -> float | None:
        """Energy of the run so far, all processes together (``this_process``: this process's kWh, NaN without a meter)."""
        total = all_mean([this_process], device, world)[0] * world
        return None if math.isnan(total) else energy_before + total

    history: list[dict[str, Any]] = []
    metrics_url = join(args.out, "metrics.jsonl")
    if master:
        fs, out_path = filesystem(args.out)
        fs.makedirs(out_path, exist_ok=True)

    def checkpoint(step: int) -> None:
        kwh = energy_kwh(meter.kwh() if meter else math.nan)  # collective: every process calls it
        # every process's loader position and random state, gathered to rank 0 that writes the file
        mine = {"loader": train_loader.state_dict(), "rng": rng_state(device)}
        ranks = [None] * world
        if world > 1:
            dist.all_gather_object(ranks, mine)
        else:
            ranks = [mine]
        if master:
            state = {"step": step, "model": raw_model.state_dict(), "optimizer": optimizer.state_dict(), "config": config.to_dict(),
                     "ranks": ranks, "args": {k: v for k, v in vars(args).items() if isinstance(v, (int, float, str, bool, type(None)))},
                     "data": {"plan": manifest.get("plan"), "tokenizer": manifest["tokenizer"], "eos_id": manifest["eos_id"],
                              "knowledge_cutoff": manifest.get("knowledge_cutoff")},
                     "energy_kwh": kwh}
            log(f"checkpoint {save_checkpoint(args.out, step, state, args.keep_checkpoints)}")
        if world > 1:
            dist.barrier()

    def record(entry: dict[str, Any]) -> None:
        history.append(entry)
        if master and "://" not in metrics_url:  # local output only (object stores cannot append)
            with open(metrics_url, "a") as f:
                f.write(json.dumps(entry) + "\n")

    model.train()
    first_step = step + 1
    t_last, step_last, data_wait = time.perf_counter(), step, 0.0
    loss_acc = torch.zeros((), device=device)
    while step < args.steps:
        lr = lr_at(step, args)
        for group in optimizer.param_groups:
            group["lr"] = lr
        for micro in range(args.grad_accum):
            t0 = time.perf_counter()
            x, y = next(train_loader)
            data_wait += time.perf_counter() - t0
            # DDP: all-reduce gradients only on the last micro-batch, not on every one
            sync = contextlib.nullcontext() if world == 1 or micro == args.grad_accum - 1 else model.no_sync()
            with sync:
                with autocast:
                    _, loss = model(x, y)
                (loss / args.grad_accum).backward()
            loss_acc += loss.detach()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip) if args.grad_clip > 0 else None
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)  # frees gradient memory between steps
        step += 1

        last = step == args.steps
        t_paused = time.perf_counter()
        if step % args.log_interval == 0 or last or step == first_step:
            # .item() waits for the GPU: done only at log steps, so the CPU otherwise runs ahead
            loss_val, norm_val, kwh = all_mean([loss_acc.item() / args.grad_accum / (step - step_last),
                                                grad_norm.item() if grad_norm is not None else 0.0,
                                                meter.kwh() if meter else math.nan], device, world)
            kwh = None if math.isnan(kwh) else energy_before + kwh * world
            dt = time.perf_counter() - t_last
            tok_s = tokens_per_step * (step - step_last) / dt  # all processes together
            mfu = flops_per_token * tok_s / (peak * world) if peak else None
            entry = {"step": step, "loss": loss_val, "lr": lr, "grad_norm": norm_val, "tokens_per_s": tok_s, "mfu": mfu,
                     "data_wait": data_wait / dt, "seconds": dt / (step - step_last), "window": step - step_last, "tokens": step * tokens_per_step,
                     "predicted_loss": predicted_loss(step * tokens_per_step), "energy_kwh": kwh}
            log(f"step {step:>6}/{args.steps} | loss {loss_val:.4f} | lr {lr:.2e} | norm {norm_val:.2f} | "
                f"{tok_s:>11,.0f} tok/s | mfu {f'{100 * mfu:.1f}%' if mfu is not None else '-'} | "
                f"data wait {100 * data_wait / dt:.1f}% | {1000 * dt / (step - step_last):.0f} ms/step", flush=True)
            record(entry)
            t_last, step_last, data_wait = time.perf_counter(), step, 0.0
            t_paused = t_last
            loss_acc.zero_()
        if val_loader is not None and (last or (args.eval_interval and step % args.eval_interval == 0)):
            val, _ = validation_loss(eval_model, val_loader, args.eval_batches, autocast, device, world)
            rulers = score_last_words(raw_model, task, autocast, device, rank=rank, world=world)
            entry = {"step": step, "val_loss": val, "val_perplexity": math.exp(val) if val is not None else None, **rulers,
                     "predicted_loss": predicted_loss(step * tokens_per_step)}
            words = (f" | last word: exact {100 * rulers['last_word_exact']:.1f}%, log-prob {rulers['last_word_logprob']:.3f}"
                     if rulers["last_word_documents"] else "")
            shown = f"val loss {val:.4f} | perplexity {entry['val_perplexity']:,.1f}" if val is not None else "val loss - (no batch)"
            log(f"step {step:>6}/{args.steps} | {shown}{words}", flush=True)
            record(entry)
        if args.ckpt_interval > 0 and (last or step % args.ckpt_interval == 0):
            checkpoint(step)
        t_last += time.perf_counter() - t_paused  # evaluation and checkpoints are not training throughput

    train_loader.close()
    kwh = energy_kwh(meter.kwh() if meter else math.nan)
    power = meter.stop() if meter else None
    losses = [h for h in history if "loss" in h]
    last_eval = next((h for h in reversed(history) if "val_loss" in h), {})
    summary = {"step": step, "history": history, "final_loss": losses[-1]["loss"] if losses else None,
               "val_loss": last_eval.get("val_loss"), "val_perplexity": last_eval.get("val_perplexity"),
               "last_word_exact": last_eval.get("last_word_exact"), "last_word_logprob": last_eval.get("last_word_logprob"),
               "predicted_loss": plan.rows[0].loss, "energy_kwh": kwh, "power": power,
               "knowledge_cutoff": manifest.get("knowledge_cutoff"), "plan": plan.to_dict(),
               "params": raw_model.num_params(), "world_size": world, "device": str(device)}
    if master:
        atomic_write_bytes(join(args.out, "summary.json"), (json.dumps(summary, indent=1) + "\n").encode())
        measured = ", ".join(f"{k} {summary[v]:.3f}" for k, v in (("train", "final_loss"), ("val", "val_loss")) if summary[v] is not None)
        log(f"loss: predicted {plan.rows[0].loss:.3f} (Chinchilla fit), measured {measured or '-'}; "
            f"energy: {f'{kwh:.4g} kWh' if kwh is not None else 'not measured'}")
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return add_train_arguments(argparse.ArgumentParser(prog="python -m curation.trainer.train", description=__doc__.split("\n")[0])).parse_args(argv)


def run(args: argparse.Namespace) -> int:
    """``train(args)``, then leave the process group: what ``curation train`` calls."""
    try:
        train(args)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except CurationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
