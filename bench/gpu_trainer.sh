#!/usr/bin/env bash
# Issue #6's GPU measurement, as one short script for a lent H100/H200 (no network there: the
# image's python3 has torch, numpy, pyarrow and fsspec, all the trainer imports).
#   bash bench/gpu_trainer.sh TOKENS_DIR OUT_DIR
# TOKENS_DIR: token shards made here, e.g. by `python -m bench.bench_trainer` (synthetic) or `make tokenize`.
# Runs: gpt2-small, seq 1024, bf16, torch.compile at batch 32 and 64, and eager at batch 32.
set -uo pipefail
data=${1:?TOKENS_DIR}
out=${2:?OUT_DIR}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$out/gpu.txt"
run() {  # name, limit in seconds, bench_trainer arguments...
    local name=$1 limit=$2
    shift 2
    echo "=== $name: $*"
    timeout "$limit" python3 -m bench.bench_trainer --data "$data" --work "/tmp/trainer-$name" --json "$out/$name.json" "$@" 2>&1 |
        tee "$out/$name.log"
}
run compiled-b32 240 --batch-size 32 --steps 80 --warmup-steps 20
run compiled-b64 200 --batch-size 64 --steps 50 --warmup-steps 15 --loader-seconds 1
run eager-b32 90 --batch-size 32 --steps 30 --warmup-steps 5 --loader-seconds 1 --no-compile
