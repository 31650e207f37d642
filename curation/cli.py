"""The ``curation`` command. Errors a user can cause become one line; ``--debug`` shows tracebacks."""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import sys
import threading

from curation.errors import CurationError

EXIT_FAILED_SHARDS = 1
EXIT_USAGE = 2


def _run(args: argparse.Namespace) -> int:
    from curation.config import load_pipeline
    from curation.execution import run_pipeline
    from curation.layout import load_run_stats, read_token_manifest
    from curation.summary import format_funnel

    config = load_pipeline(args.pipeline)
    stages = [s.strip() for s in args.stages.split(",")] if args.stages else None
    results = run_pipeline(
        config,
        args.input,
        args.output,
        stages=stages,
        workers=args.workers,
        ray_address=args.ray_address,
        force=args.force,
        limit=args.limit,
        progress=not args.no_progress,
        executor=args.executor,
    )
    print()
    print(format_funnel(load_run_stats(args.output), read_token_manifest(args.output)))
    failed = [f for r in results for f in r.shards_failed]
    for r in results:
        print(f"{r.stage}: {r.shards_total} shards ({r.shards_skipped} already done), {len(r.shards_failed)} failed, {r.wall_seconds:.1f}s")
    chained = [r.stage for r in results if r.after]
    if chained:
        print(f"({', '.join(chained)}: run shard by shard right after the stage before; the seconds are those after it ended)")
    if failed:
        print(f"error: {len(failed)} shard(s) failed; fix or remove their input and rerun (finished shards are kept)", file=sys.stderr)
        return EXIT_FAILED_SHARDS
    return 0


def _stats(args: argparse.Namespace) -> int:
    from curation.layout import has_output, load_run_stats, read_token_manifest
    from curation.summary import format_funnel, to_json

    if not has_output(args.output):
        raise CurationError(f"no curation output found in {args.output} (expected folders like {args.output}/extract)")
    stats = load_run_stats(args.output)
    manifest = read_token_manifest(args.output)
    options = {"watts_per_core": args.watts_per_core, "grid": args.grid}
    print(json.dumps(to_json(stats, manifest, **options), indent=1) if args.json else format_funnel(stats, manifest, **options))
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from curation.inspect import dropped_samples, format_samples, kept_samples, rejected_samples

    if args.rejected:
        samples = rejected_samples(args.output, stage=args.stage, step=args.step, reason=args.reason, n=args.n, seed=args.seed)
    elif args.step is None:
        raise CurationError("give --step (a step's sampled drops, or --kept documents), or --rejected to browse the rejected documents")
    elif args.kept:
        samples = kept_samples(args.output, args.step, n=args.n, seed=args.seed)
    else:
        samples = dropped_samples(args.output, args.step, reason=args.reason, n=args.n, seed=args.seed)
    print(format_samples(samples))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from curation.inspect import compare_runs

    print(compare_runs(args.output_a, args.output_b))
    return 0


def _eval(rest: list[str]) -> int:
    from curation.evaluate import main as evaluate_main

    return evaluate_main(rest)


def _train_quality(rest: list[str]) -> int:
    from curation.quality_train import main as train_quality_main

    return train_quality_main(rest)


# Commands whose own parser takes every argument after their name.
PASSTHROUGH = {"eval": _eval, "train-quality": _train_quality}


def _verify(args: argparse.Namespace) -> int:
    from curation.verify import verify

    checked, problems = verify(args.output)
    if not checked:
        raise CurationError(f"no finished shard or token manifest found in {args.output}")
    for p in problems:
        print(f"MISMATCH {p}")
    print(", ".join(f"{stage}: {n} shards" for stage, n in checked.items()) + f"; {len(problems)} problem(s)")
    return 1 if problems else 0


def _report(args: argparse.Namespace) -> int:
    from curation.report import write_report

    print(write_report(args.output, args.out))
    return 0


def _export_bin(args: argparse.Namespace) -> int:
    from curation.tokenization.export import export_bin

    for url in export_bin(args.tokenize_dir, args.out, prefix=args.prefix):
        print(url)
    return 0


def _train(args: argparse.Namespace) -> int:
    from curation.trainer import require_torch

    require_torch()
    from curation.trainer.train import run

    return run(args)


def _plan(args: argparse.Namespace) -> int:
    from curation.plan import run

    return run(args)


def _eval_model(args: argparse.Namespace) -> int:
    from curation.trainer import require_torch

    require_torch()
    from curation.trainer.heldout import run

    return run(args)


def _sample_text(args: argparse.Namespace) -> int:
    from curation.trainer import require_torch

    require_torch()
    from curation.trainer.sample import run

    return run(args)


def _sample(args: argparse.Namespace) -> int:
    from curation.sample import generate_sample

    manifest = generate_sample(args.output, seed=args.seed)
    print(f"wrote {len(manifest['files'])} WARC files with {len(manifest['records'])} planted records to {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="curation", description="Common Crawl WARC (or your documents) -> clean, de-duplicated, tokenized shards, on Ray.")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a pipeline file's stages")
    r.add_argument("pipeline", help="pipeline YAML, e.g. pipelines/fineweb.yaml")
    r.add_argument("--input", help="input files: a file, folder, glob, s3:// or https:// URL or prefix, *.paths.gz listing, or crawl id "
                                   "(CC-MAIN-2024-10); WARC/ARC for the extract stage; Parquet, JSON Lines, WET or a saved dataset for a run "
                                   "that starts later (--stages filter,... / dedup / tokenize)")
    r.add_argument("--output", required=True, help="output folder (local or s3://)")
    r.add_argument("--stages", help="comma-separated stages to run (default: all); a later stage reads the earlier stage's output")
    r.add_argument("--workers", type=int, help="concurrent tasks (default: all CPUs of the Ray cluster)")
    r.add_argument("--executor", choices=("ray", "local"), default="ray",
                   help="where tasks run: ray (default; embedded, or the cluster of --ray-address / RAY_ADDRESS) or local "
                        "(one task at a time in this process: for debuggers and quick checks)")
    r.add_argument("--ray-address", help="existing Ray cluster (default: RAY_ADDRESS, else an embedded local Ray)")
    r.add_argument("--force", action="store_true", help="redo finished shards")
    r.add_argument("--limit", type=int, help="take only the first N input files")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.set_defaults(func=_run)

    s = sub.add_parser("stats", help="print the funnel of a run")
    s.add_argument("output")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    from curation.plan import DEFAULT_GRID, DEFAULT_WATTS_PER_CORE, WATTS_PER_CORE_SOURCE

    s.add_argument("--watts-per-core", type=float, default=DEFAULT_WATTS_PER_CORE,
                   help=f"power of one busy core for the energy estimate (default {DEFAULT_WATTS_PER_CORE:.2f} W: {WATTS_PER_CORE_SOURCE})")
    s.add_argument("--grid", type=float, default=DEFAULT_GRID, help=f"grid carbon intensity, gCO2e/kWh (default {DEFAULT_GRID:g})")
    s.set_defaults(func=_stats)

    i = sub.add_parser("inspect", help="show documents a step dropped (or kept)")
    i.add_argument("output")
    i.add_argument("--step", help="step name, e.g. gopher_quality")
    i.add_argument("--reason", help="only this drop reason")
    i.add_argument("--kept", action="store_true", help="documents that passed the step (from its stage's output)")
    i.add_argument("--rejected", action="store_true",
                   help="every document a stage dropped, from OUTPUT/<stage>/rejected/ (keep_rejected: true); --step, --reason, --stage narrow it")
    i.add_argument("--stage", help="with --rejected: only this stage's rejected documents")
    i.add_argument("-n", type=int, default=5, help="how many documents")
    i.add_argument("--seed", type=int, default=0)
    i.set_defaults(func=_inspect)

    c = sub.add_parser("compare", help="the funnels of two runs side by side")
    c.add_argument("output_a")
    c.add_argument("output_b")
    c.set_defaults(func=_compare)

    sub.add_parser("eval", help="extraction P/R/F1 and language-ID accuracy on the real data (eval --help)")
    sub.add_parser("train-quality", help="train a fastText quality classifier: POSITIVE NEGATIVE --output MODEL (train-quality --help)")

    v = sub.add_parser("verify", help="check every shard against its marker or the token manifest")
    v.add_argument("output")
    v.set_defaults(func=_verify)

    rp = sub.add_parser("report", help="write the HTML report of a run (one self-contained file)")
    rp.add_argument("output")
    rp.add_argument("-o", "--out", default="report.html", help="HTML file to write (default: report.html)")
    rp.set_defaults(func=_report)

    e = sub.add_parser("export-bin", help="token shards -> llm.c / modded-nanogpt .bin files")
    e.add_argument("tokenize_dir", help="OUTPUT/tokenize")
    e.add_argument("--out", required=True)
    e.add_argument("--prefix", default="", help="file name prefix, e.g. fineweb")
    e.set_defaults(func=_export_bin)

    from curation.plan import add_plan_arguments
    from curation.trainer import add_eval_model_arguments, add_sample_arguments, add_train_arguments  # argparse only, no torch

    pl = sub.add_parser("plan", help="model sizes, compute, GPU-hours, energy and CO2e for a run's tokens (or --tokens N)")
    add_plan_arguments(pl)
    pl.set_defaults(func=_plan)

    t = sub.add_parser("train", help="train a GPT on token shards (OUTPUT/tokenize); under torchrun for several GPUs or nodes")
    add_train_arguments(t)
    t.set_defaults(func=_train)

    em = sub.add_parser("eval-model", help="a checkpoint on held-out documents: loss, perplexity, last-word exact match and log-prob")
    add_eval_model_arguments(em)
    em.set_defaults(func=_eval_model)

    st = sub.add_parser("sample-text", help="generate text from a trained checkpoint")
    add_sample_arguments(st)
    st.set_defaults(func=_sample_text)

    g = sub.add_parser("sample", help="write the bundled sample WARC set")
    g.add_argument("--output", default="sample_data")
    g.add_argument("--seed", type=int, default=0)
    g.set_defaults(func=_sample)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in PASSTHROUGH:
        try:
            return PASSTHROUGH[argv[0]](argv[1:])
        except CurationError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_USAGE
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    try:
        return args.func(args)
    except CurationError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: finished shards are kept; rerun the same command to resume", file=sys.stderr)
        return 130


def entry(argv: list[str] | None = None) -> None:
    """The ``curation`` command as a process: ``main``, then an exit that skips CPython's final teardown.

    That teardown destroys native libraries' thread pools while their threads may still be alive;
    Arrow's then calls ``std::terminate`` ("terminate called without an active exception"), and a
    command that had finished its work and printed its answer died of SIGABRT (``curation verify``:
    56 of 240 runs on a busy machine, 0 of 240 this way; apache/arrow#34314). Everything a normal
    exit does for Python code still happens, in its order: non-daemon threads are joined, ``atexit``
    handlers run (Ray's shutdown, logging's flush, temporary folders), the standard streams are flushed."""
    try:
        code = main(argv)
    except SystemExit as e:  # argparse: --help, a usage error
        code = e.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    threading._shutdown()  # what finalization does first: join threads, shut thread-pool executors down
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: the reader is gone
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
