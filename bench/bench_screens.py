"""Do the screens change what the FineWeb pipeline keeps? Every real page, screened and not.

    python -m bench.bench_screens [--pipeline pipelines/fineweb.yaml] [--json OUT.json]

Every real HTML page available (``bench/real_pages.py``: the documents of the shared WARC files as
the pipeline's reader makes them, and the 130 readability test pages) goes through the pipeline's
extract and filter steps twice, in this process (no Ray): as the pipeline file says (with its
``screen`` step) and with the ``screen`` step left out. The many-files and language-mixed bench
corpora are made of these same pages (and each page's fate depends on the page alone), so the
agreement here is theirs too. Printed:

- the agreement of the two kept sets (|A∩B| / |A∪B|), and whether the kept texts are identical;
- every difference, and every page a screen drops with what the unscreened run did with it;
- for every page the *language* screen drops, the language step's verdict on trafilatura's text
  (which must be "drop", whatever earlier step drops the page in the unscreened run);
- the margins: the lowest kept-language score on the screen's text among pages the language step
  keeps, the highest among real pages it drops, and the fewest visible words among pages with at
  least Gopher's 50 words in trafilatura's text;
- CPU seconds: the screen's, and trafilatura's in each run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

PIPELINE = REPO_ROOT / "pipelines" / "fineweb.yaml"


def pipeline_steps(pipeline: Path, screened: bool) -> list:
    """The extract steps after the reader, then the filter steps; without ``screen`` unless ``screened``."""
    from curation.config import load_pipeline

    cfg = load_pipeline(str(pipeline))
    specs = [*cfg.stage("extract").steps[1:], *cfg.stage("filter").steps]
    return [s.build() for s in specs if screened or s.name != "screen"]


def fates(pages, steps) -> tuple[dict[str, dict[str, Any]], dict[str, float]]:
    """{id: {"fate": "kept" or "step:reason", "text": final text}} and CPU seconds per step."""
    from curation.document import Document
    from curation.stats import StepStats

    seconds: dict[str, float] = {}
    out = {}
    for page in pages:
        doc = Document(id=page.id, text=page.text, url=page.url, date=page.date, source=page.source, metadata=dict(page.metadata))
        fate = "kept"
        for step in steps:
            st = StepStats(step.label)
            t0 = time.thread_time()
            result = list(step.run([doc], st))
            seconds[step.label] = seconds.get(step.label, 0.0) + time.thread_time() - t0
            if not result:
                fate = f"{step.label}:{next(iter(st.dropped), '?')}"
                break
            doc = result[0]
        out[page.id] = {"fate": fate, "text": doc.text if fate == "kept" else None, "url": page.url}
    return out, seconds


WARM_UP_TEXT = ("The library opened a new reading room this spring, and the staff say that more people come in every week "
                "to read the papers, borrow books and use the computers. ") * 10


def warm_up(steps) -> None:
    """Run each step once on an English page, so that loading its model or word lists is not timed."""
    from curation.document import Document
    from curation.stats import StepStats

    for step in steps:
        html = f"<html><body><p>{WARM_UP_TEXT}</p></body></html>"
        doc = Document(id="warm-up", text=WARM_UP_TEXT if step.name not in ("screen", "trafilatura", "resiliparse") else html,
                       url="https://example.com/warm-up")
        list(step.run([doc], StepStats(step.label)))


def margins(pages, screen, extractor, language, gopher_min_words: int = 50) -> dict[str, Any]:
    """How far the screens' thresholds are from changing a decision, over every page."""
    from curation.document import Document
    from curation.extraction.screens import kept_language_scores, visible_text
    from filters.gopher import GopherQualityFilter

    languages = screen.params.languages or language.params.languages
    gq = GopherQualityFilter()
    kept_scores, dropped_scores, words_ratio = [], [], []
    for page in pages:
        try:
            seen = visible_text(page.text)
        except Exception:  # noqa: BLE001, S112 - the screen passes such a page on; nothing to measure
            continue
        text = extractor.extract(page.text)
        if not text:
            continue
        scores = kept_language_scores(seen, tuple(languages), 0.0) if seen.strip() else {}
        best = max(scores.values(), default=0.0)
        keeps = language.predict(text)[3]
        (kept_scores if keeps else dropped_scores).append((best, page.id))
        doc = Document(id=page.id, text=text)
        gq.filter(doc)
        n = doc.metadata.get("n_words") or 0
        if n >= gopher_min_words:
            words_ratio.append((len(seen.split()), n, page.id))
    kept_scores.sort()
    dropped_scores.sort(reverse=True)
    words_ratio.sort(key=lambda r: r[0] / r[1])
    return {
        "languages": list(languages),
        "language_kept_lowest": kept_scores[:5],
        "language_dropped_highest": dropped_scores[:5],
        "language_kept_pages": len(kept_scores),
        "language_dropped_pages": len(dropped_scores),
        "fewest_visible_words_with_enough_gopher_words": sorted(words_ratio)[:5],
        "lowest_visible_to_gopher_words": words_ratio[:5],
    }


def compare_runs(screened: dict, unscreened: dict) -> dict[str, Any]:
    a = {i for i, f in screened.items() if f["fate"] == "kept"}
    b = {i for i, f in unscreened.items() if f["fate"] == "kept"}
    both, union = a & b, a | b
    return {
        "pages": len(screened),
        "kept_screened": len(a),
        "kept_unscreened": len(b),
        "both": len(both),
        "union": len(union),
        "agreement": len(both) / len(union) if union else 1.0,
        "same_text": sum(screened[i]["text"] == unscreened[i]["text"] for i in both),
        "only_screened": sorted(a - b),
        "only_unscreened": sorted(b - a),
        "screen_drops": {i: {"screen": f["fate"], "unscreened": unscreened[i]["fate"], "url": f["url"]}
                         for i, f in screened.items() if f["fate"].startswith("screen:")},
    }


def measure(pipeline: Path = PIPELINE, pages=None) -> dict[str, Any]:
    from bench.real_pages import all_pages

    pages = all_pages() if pages is None else pages
    steps_s = pipeline_steps(pipeline, screened=True)
    steps_u = pipeline_steps(pipeline, screened=False)
    if not any(s.name == "screen" for s in steps_s):
        raise SystemExit(f"{pipeline} has no screen step")
    warm_up(steps_s)  # load the models, blocklist and word tokenizer before timing
    screened, sec_s = fates(pages, steps_s)
    unscreened, sec_u = fates(pages, steps_u)
    result = compare_runs(screened, unscreened)
    screen = next(s for s in steps_s if s.name == "screen")
    extractor = next(s for s in steps_u if s.name in ("trafilatura", "resiliparse"))
    language = next(s for s in steps_u if s.name == "language")
    # the language step's own verdict on trafilatura's text, for each page the language screen drops
    checks = {}
    for page in pages:
        if screened[page.id]["fate"] == "screen:other_language":
            text = extractor.extract(page.text)
            checks[page.id] = "no text" if not text else ("keep" if language.predict(text)[3] else "drop")
    result["language_step_on_language_screen_drops"] = checks
    result["language_screen_changed_language_verdict"] = sorted(i for i, v in checks.items() if v == "keep")
    result["margins"] = margins(pages, screen, extractor, language)
    result["cpu_seconds"] = {"screened": sec_s, "unscreened": sec_u}
    return result


def report(r: dict[str, Any]) -> None:
    print(f"pages: {r['pages']} (every real HTML page: shared WARC documents + readability test pages)")
    print(f"kept: screened {r['kept_screened']}, unscreened {r['kept_unscreened']}; agreement |A∩B|/|A∪B| = "
          f"{r['both']}/{r['union']} = {100 * r['agreement']:.2f}%; identical text in {r['same_text']}/{r['both']}")
    for i in r["only_screened"]:
        print(f"  kept only with the screens: {i}")
    for i in r["only_unscreened"]:
        print(f"  kept only without the screens: {i} (screened run: {r['screen_drops'].get(i, {}).get('screen', '?')})")
    drops = r["screen_drops"]
    by: dict[str, dict[str, int]] = {}
    for d in drops.values():
        by.setdefault(d["screen"], {}).setdefault(d["unscreened"], 0)
        by[d["screen"]][d["unscreened"]] += 1
    print(f"screen drops: {len(drops)}; what the unscreened run did with them:")
    for reason, fates_ in by.items():
        print(f"  {reason}: " + ", ".join(f"{k} {v}" for k, v in sorted(fates_.items(), key=lambda x: -x[1])))
    changed = r["language_screen_changed_language_verdict"]
    print(f"language step's verdict on trafilatura's text of the {len(r['language_step_on_language_screen_drops'])} pages the "
          f"language screen drops: {'all drop' if not changed else f'{len(changed)} KEPT: ' + ', '.join(changed)}")
    m = r["margins"]
    def fmt(rows):
        return ", ".join(f"{s:.3f} ({i})" for s, i in rows)

    print(f"margins, language ({'/'.join(m['languages'])} score on the screen's text):")
    print(f"  pages the language step keeps ({m['language_kept_pages']}), lowest: {fmt(m['language_kept_lowest'])}")
    print(f"  pages it drops ({m['language_dropped_pages']}), highest: {fmt(m['language_dropped_highest'])}")
    print("margins, words (visible words vs Gopher's words of trafilatura's text, pages with >= 50 Gopher words):")
    print("  fewest visible words: " + ", ".join(f"{v} vs {g} ({i})" for v, g, i in m["fewest_visible_words_with_enough_gopher_words"]))
    print("  lowest ratio: " + ", ".join(f"{v}/{g} = {v / g:.2f} ({i})" for v, g, i in m["lowest_visible_to_gopher_words"]))
    s, u = r["cpu_seconds"]["screened"], r["cpu_seconds"]["unscreened"]
    print("CPU seconds per step, screened: " + ", ".join(f"{k} {v:.1f}" for k, v in s.items()))
    print("CPU seconds per step, unscreened: " + ", ".join(f"{k} {v:.1f}" for k, v in u.items()))
    print(f"CPU seconds in all: screened {sum(s.values()):.1f}, unscreened {sum(u.values()):.1f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pipeline", default=str(PIPELINE))
    p.add_argument("--json", help="write every figure to this file")
    args = p.parse_args(argv)
    r = measure(Path(args.pipeline))
    report(r)
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
