"""The compute ledger of a curation run: each stage's CPU-hours, and the energy and emissions they
stand for at a configurable power per busy core and grid carbon intensity.

CPU time is what the tasks measured themselves (``StageStats.cpu_seconds``: user + system time of
the worker processes, summed over shards), so idle cores and the driver are not charged. The
energy is an estimate, CPU-hours x watts per core: the socket's power at full load spread over its
cores (default: an AMD EPYC 9654, see ``curation.plan``); memory, disks, network and cooling are
not counted. ``curation stats`` prints it; ``ledger(stats)`` is the dictionary for ``run.json`` and
the report.
"""

from __future__ import annotations

from typing import Any

from curation.plan import DEFAULT_GRID, DEFAULT_WATTS_PER_CORE, GRID_SOURCE, WATTS_PER_CORE_SOURCE, co2e_kg
from curation.stats import StageStats


def ledger(stats: dict[str, StageStats], watts_per_core: float = DEFAULT_WATTS_PER_CORE, grid: float = DEFAULT_GRID) -> dict[str, Any]:
    """Per stage and in total: CPU-hours, kWh and kg CO2e (``watts_per_core`` W per busy core, ``grid`` gCO2e/kWh)."""
    stages = {}
    for name, ss in stats.items():
        cpu_hours = ss.cpu_seconds / 3600
        kwh = cpu_hours * watts_per_core / 1000
        stages[name] = {"cpu_hours": cpu_hours, "kwh": kwh, "co2e_kg": co2e_kg(kwh, grid)}
    total = {k: sum(s[k] for s in stages.values()) for k in ("cpu_hours", "kwh", "co2e_kg")}
    return {
        "watts_per_core": watts_per_core,
        "watts_per_core_source": WATTS_PER_CORE_SOURCE if watts_per_core == DEFAULT_WATTS_PER_CORE else "given",
        "grid_g_per_kwh": grid,
        "grid_source": GRID_SOURCE if grid == DEFAULT_GRID else "given",
        "stages": stages,
        "total": total,
    }


def format_ledger(book: dict[str, Any]) -> list[str]:
    """Terminal lines: one per stage and the total."""
    lines = [f"energy   (estimate: {book['watts_per_core']:.2f} W per busy core, {book['watts_per_core_source']}; "
             f"{book['grid_g_per_kwh']:,.0f} gCO2e/kWh, {book['grid_source']})"]
    for name, s in [*book["stages"].items(), ("total", book["total"])]:
        lines.append(f"energy   {name:<9} {s['cpu_hours']:.4g} CPU-h, {1000 * s['kwh']:.4g} Wh, {1000 * s['co2e_kg']:.4g} g CO2e")
    return lines
