"""The HTML report of a run: one self-contained page of charts a person can read at a glance.

``write_report(output, path)`` reads what a run left under ``output`` and writes one HTML file
that opens offline: every chart is SVG drawn in Python, and the styles and the few lines of script
are inline; nothing is fetched from anywhere. Three parts, in the order the data flows:

* ``collect``: the run read into plain data (through ``curation.layout``), the figures below;
* ``charts``: the SVG builders and the formatting of numbers;
* ``page``: the sections, styles and script, and ``render_html``.

The page shows, for whatever stages the run has:

* the funnel: documents left after every step, and what each step removed;
* the drop reasons of every step (100 % stacked bars, with counts);
* the histogram of every score a step recorded, drawn as the step describes the score
  (``curation.step.Score``: unit, note, what it counts), with the step's thresholds from
  ``run.json`` marked and the side they drop shaded; a new step needs no code here;
* languages: the documents entering the language step per language (its ``language:<code>``
  counters, or the kept documents' ``language`` column when it kept none), and the per-language
  funnel (``curation.summary.language_funnel``): identified, kept after each stage, the drop
  reasons and the tokens, top languages one by one and the rest as "other";
* document length (characters) before and after: the first and last document stage's shards,
  ``text`` column only, at most ``collect.LENGTH_SAMPLE_DOCS`` documents per stage;
* near-duplicate cluster sizes (``dedup/clusters.json``) and tokens per shard
  (``tokenize/manifest.json``);
* compute per stage and time per step;
* the sampled dropped documents of every step and reason, collapsed, HTML-escaped, each with the
  scores that explain its reason (the reason itself, and the scores that say they ``explain`` it).

Every number the page shows is also embedded as JSON (``<script type="application/json"
id="report-data">``): ``collect``'s dict, which is what the tests compare with the run's statistics.
"""

from __future__ import annotations

from curation.errors import CurationError
from curation.io.fs import atomic_write_bytes, join
from curation.layout import has_output
from curation.report.charts import nice_ticks
from curation.report.collect import collect, thresholds_for
from curation.report.page import render_html

__all__ = ["collect", "nice_ticks", "render_html", "thresholds_for", "write_report"]


def write_report(output: str, path: str | None = None) -> str:
    """Write the HTML report of the run in ``output`` to ``path`` (default ``OUTPUT/report.html``); return the path."""
    if not has_output(output):
        raise CurationError(f"no curation output found in {output} (expected folders like {output}/extract)")
    data = collect(output)
    if not data["stages"]:
        raise CurationError(f"no finished shard found in {output}")
    path = path or join(output, "report.html")
    atomic_write_bytes(path, render_html(data).encode("utf-8"))
    return path
