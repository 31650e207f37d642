"""On a GPU: does a run resumed from a checkpoint repeat the uninterrupted run's losses?

    PYTHONPATH=. python3 -m bench.gpu_resume_check TOKENS_DIR WORK_DIR [--compile]

Run A trains ``--steps`` steps and checkpoints halfway; run B starts from A's halfway checkpoint
(copied into its own folder, as if A had stopped there) with ``--resume``. The CPU tests assert
the two agree bitwise; on CUDA some kernels (embedding backward's atomics) are not deterministic,
so this prints how far apart they are rather than asserting.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("work")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--model", default="gpt2-small")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--json")
    args = ap.parse_args(argv)

    import torch

    from curation.trainer.train import load_checkpoint, parse_args, train

    half = args.steps // 2
    work = Path(args.work)
    a, b = work / "a", work / "b"
    for d in (a, b):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)

    def run(out: Path, *extra: str) -> dict:
        argv = ["--data", args.data, "--out", str(out), "--model", args.model, "--steps", str(args.steps), "--batch-size",
                str(args.batch_size), "--log-interval", "1", "--eval-batches", "0", "--ckpt-interval", str(half),
                "--keep-checkpoints", "2", "--device", args.device, *(["--compile"] if args.compile else []), *extra]
        return train(parse_args(argv))

    summary_a = run(a)
    shutil.copy(a / f"ckpt-{half:08d}.pt", b / f"ckpt-{half:08d}.pt")
    summary_b = run(b, "--resume")
    la = {h["step"]: h["loss"] for h in summary_a["history"] if "loss" in h}
    lb = {h["step"]: h["loss"] for h in summary_b["history"] if "loss" in h}
    steps = sorted(lb)
    diffs = [abs(la[s] - lb[s]) for s in steps]
    final_a, final_b = load_checkpoint(str(a)), load_checkpoint(str(b))
    weight_diff = max((final_a["model"][k].float() - final_b["model"][k].float()).abs().max().item() for k in final_a["model"])
    result = {
        "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device, "model": args.model, "compile": args.compile, "steps": args.steps,
        "resumed_steps": steps, "bitwise_equal_losses": all(la[s] == lb[s] for s in steps), "max_loss_diff": max(diffs),
        "losses_uninterrupted": [la[s] for s in steps], "losses_resumed": [lb[s] for s in steps],
        "same_loader_state": final_a["ranks"][0]["loader"] == final_b["ranks"][0]["loader"], "max_weight_diff": weight_diff,
    }
    print(json.dumps({k: v for k, v in result.items() if not k.startswith("losses")}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0 if steps == list(range(half + 1, args.steps + 1)) and result["same_loader_state"] else 1


if __name__ == "__main__":
    sys.exit(main())
