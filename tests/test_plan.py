"""`curation plan` and the compute ledger: the plan's numbers against hand computations, its warnings,
and on the demo's output (the FineWeb pipeline on the bundled sample): the presets are far from
compute-optimal, the val split holds data, and the token manifest's knowledge cut-off is the newest
training document's date."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from curation.cli import main as cli
from curation.ledger import ledger
from curation.plan import (
    FITS,
    Hardware,
    compute_optimal_params,
    effective_tokens,
    make_plan,
    preset_models,
)
from curation.stats import StageStats
from curation.summary import format_funnel, to_json

GPT2_SMALL_PARAMS = 123_587_328  # 50304 x 768 (tied embedding) + 12 x (12 x 768^2 + 2 x 768) + 768
GPT2_SMALL_FLOPS_PER_TOKEN = 854_770_176  # 6 x 123,587,328 + 12 x 12 layers x 768 wide x 1024 context


def test_a_billion_tokens_feed_about_fifty_million_parameters():
    assert compute_optimal_params(1e9) == 50e6  # 20 tokens per parameter
    plan = make_plan(1e9, preset_models(50257, 1024))
    optimal = plan.rows[-1]
    assert optimal.model == "compute-optimal" and optimal.params == 50_000_000 and optimal.tokens_per_param == 20
    assert optimal.flops == 6 * 50e6 * 1e9
    # the fits' own frontiers at that compute (Hoffmann et al. eq. 4) agree within 15%
    for fit in FITS.values():
        assert fit.optimal_params(optimal.flops) == pytest.approx(50e6, rel=0.15)


def test_gpt2_small_flops_at_1024_context_by_hand():
    (name, params, flops_per_token), = [m for m in preset_models(50257, 1024) if m[0] == "gpt2-small"]
    assert params == GPT2_SMALL_PARAMS and flops_per_token == GPT2_SMALL_FLOPS_PER_TOKEN
    hw = Hardware.resolve("H100")
    assert (hw.peak_flops, hw.mfu, hw.watts, hw.grid) == (989e12, 0.402, 700.0, 436.0)  # datasheet, BENCHMARKS.md, Ember
    row = make_plan(1e9, [(name, params, flops_per_token)], hardware=hw, optimal=False).rows[0]
    assert row.flops == pytest.approx(8.54770176e17)
    # 8.5477e17 FLOPs / (989e12 FLOP/s x 0.402) = 2150 s = 0.5972 GPU-hours; x 700 W = 0.418 kWh; x 436 g/kWh = 0.182 kg
    assert row.gpu_hours == pytest.approx(0.59720, rel=1e-4)
    assert row.kwh == pytest.approx(0.41804, rel=1e-4) and row.co2e_kg == pytest.approx(0.18227, rel=1e-4)
    eight = make_plan(1e9, [(name, params, flops_per_token)], hardware=Hardware.resolve("H100", 8), optimal=False).rows[0]
    assert eight.gpu_hours == pytest.approx(row.gpu_hours) and eight.wall_hours == pytest.approx(row.gpu_hours / 8)
    assert Hardware.resolve("H200").mfu == 0.435 and Hardware.resolve("A100").mfu == 0.40  # no record for the A100: the default


def test_chinchilla_fit_by_hand():
    # Chinchilla itself, 70B parameters on 1.4T tokens: 1.69 + 406.4 / 70e9^0.34 + 410.7 / 1.4e12^0.28
    assert FITS["hoffmann2022"].loss(70e9, 1.4e12) == pytest.approx(1.69 + 0.08350 + 0.16310, abs=2e-4)
    assert FITS["besiroglu2024"].loss(70e9, 1.4e12) == pytest.approx(1.8172 + 482.01 / 70e9**0.3478 + 2085.43 / 1.4e12**0.3658)


def test_repeated_data_counts_less_and_is_warned_about():
    assert effective_tokens(1e9, 1e9) == 1e9 and effective_tokens(1e9, 5e8) == 5e8
    # 4 epochs: 1 + 15.39 x (1 - exp(-3 / 15.39)) = 3.72 epochs' worth, 93% of fresh data
    assert effective_tokens(1e9, 4e9) == pytest.approx(3.725e9, rel=1e-3)
    assert effective_tokens(1e9, 1e12) < 17e9  # a thousand epochs: never more than 1 + 15.39 epochs' worth
    models = preset_models(50257, 1024)
    assert not any("repeats" in w for w in make_plan(1e9, models, epochs=4).warnings)
    repeated = make_plan(1e9, models, epochs=8)
    assert [w for w in repeated.warnings if "repeats the data 8.0 times" in w and "Muennighoff" in w]
    fresh = FITS["hoffmann2022"].loss(GPT2_SMALL_PARAMS, 8e9)
    assert repeated.rows[1].loss > fresh  # eight epochs of 1B tokens are worth less than 8B fresh tokens


def test_sizes_far_from_compute_optimal_are_warned_about_both_ways():
    models = preset_models(50257, 1024)
    warned = {w.split(":")[0] for w in make_plan(1e9, models).warnings if "far from compute-optimal" in w}
    assert warned == {"tiny", "gpt2-medium"}  # 301 and 2.8 tokens per parameter; gpt2-small's 8.1 and the optimum pass
    plan = make_plan(1e9, models)
    assert "under-trained" in next(w for w in plan.warnings if w.startswith("gpt2-medium"))
    assert "lower loss for the same compute" in next(w for w in plan.warnings if w.startswith("tiny"))


def test_plan_command_for_a_number_of_tokens(capsys):
    assert cli(["plan", "--tokens", "1e9", "--gpu", "H200", "--gpus", "4", "--grid", "100"]) == 0
    text = capsys.readouterr().out
    assert "4 x H200 SXM" in text and "MFU 43.5%" in text and "grid 100 gCO2e/kWh" in text
    assert cli(["plan", "--tokens", "1e9", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in plan["rows"]] == ["tiny", "gpt2-small", "gpt2-medium", "compute-optimal"]
    assert plan["rows"][-1]["params"] == 50_000_000
    assert cli(["plan"]) == 2 and "--tokens" in capsys.readouterr().err
    assert cli(["plan", "--tokens", "1e9", "--gpu", "V100"]) == 2 and "unknown GPU 'V100'" in capsys.readouterr().err


def test_ledger_by_hand():
    stats = {"extract": StageStats("extract", cpu_seconds=3600.0), "filter": StageStats("filter", cpu_seconds=1800.0)}
    book = ledger(stats)
    # one CPU-hour at 3.75 W per core (360 W / 96 cores) is 3.75 Wh; at 436 g/kWh, 1.635 g CO2e
    assert book["stages"]["extract"] == pytest.approx({"cpu_hours": 1.0, "kwh": 0.00375, "co2e_kg": 0.001635})
    assert book["total"]["cpu_hours"] == 1.5 and book["total"]["kwh"] == pytest.approx(0.005625)
    other = ledger(stats, watts_per_core=10.0, grid=100.0)["stages"]["extract"]
    assert other == pytest.approx({"cpu_hours": 1.0, "kwh": 0.01, "co2e_kg": 0.001})
    assert to_json(stats, watts_per_core=10.0)["ledger"]["watts_per_core"] == 10.0
    assert "energy   total     1.5 CPU-h, 5.625 Wh" in format_funnel(stats)


# ----------------------------------------------------------------------------------------------
# The demo's output


@pytest.mark.ray
def test_plan_on_the_demo_says_the_presets_are_far_from_compute_optimal(sample_run, capsys):
    out, _ = sample_run
    assert cli(["plan", str(out / "tokenize")]) == 0
    text = capsys.readouterr().out
    for preset in ("tiny", "gpt2-small", "gpt2-medium"):
        assert f"warning: {preset}: far from compute-optimal" in text
    manifest = json.loads((out / "tokenize" / "manifest.json").read_text())
    data_tokens = manifest["splits"]["train"]["sequences"] * 1024
    assert f"data: {data_tokens:,} training tokens" in text and f"knowledge cut-off {manifest['knowledge_cutoff']}" in text
    assert cli(["plan", str(out)]) == 0 and capsys.readouterr().out == text  # the run's folder will do


@pytest.mark.ray
def test_demo_val_split_holds_data(sample_run):
    out, _ = sample_run
    val = json.loads((out / "tokenize" / "manifest.json").read_text())["splits"]["val"]
    assert val["sequences"] > 0 and val["documents"] > 0


@pytest.mark.ray
def test_knowledge_cutoff_is_the_newest_training_documents_date(sample_run):
    from curation.tokenization.split import is_val

    out, _ = sample_run
    manifest = json.loads((out / "tokenize" / "manifest.json").read_text())
    dates = []
    for shard in sorted((out / "dedup" / "shards").glob("*.parquet")):  # what the tokenize stage read
        t = pq.read_table(shard, columns=["id", "text", "date"])
        rows = zip(*(t.column(c).to_pylist() for c in ("id", "text", "date")), strict=True)
        dates += [d for i, x, d in rows if x and not is_val(i, manifest["val_fraction"])]
    assert manifest["knowledge_cutoff"] == max(dates)
    months = {}
    for d in dates:
        months[d[:7]] = months.get(d[:7], 0) + 1
    assert manifest["documents_per_month"] == dict(sorted(months.items()))


def test_scaling_bench_fit_recovers_a_known_power_law():
    import numpy as np

    from bench.scaling import fit_power_law

    params = np.array([1e6, 3e6, 1e7, 3e7, 1e8])
    fit = fit_power_law(params, 2.0 + 50.0 * params**-0.3)
    assert fit["E"] == pytest.approx(2.0, abs=2e-3)
    assert fit["A"] == pytest.approx(50.0, rel=0.01) and fit["alpha"] == pytest.approx(0.3, rel=0.01)
    line = fit_power_law(params[:3], 7.0 * params[:3] ** -0.1)  # three sizes: the log-log line only
    assert line["loglog_alpha"] == pytest.approx(0.1) and line["loglog_A"] == pytest.approx(7.0) and line["E"] is None
