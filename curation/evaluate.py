"""Quality measured on real data: main-text extraction and language identification.

``python -m curation.evaluate [--data DIR] [--json OUT]`` reads the real data beside the project
(``$CURATION_SHARED_DATA``, default ``<repo>/../shared/data``) and reports:

Extraction (``extraction/mozilla-readability-testpages/pages/*/``): our trafilatura call (the
settings of the ``trafilatura`` step: ``favor_precision=True, include_comments=False,
include_tables=True, deduplicate=False``, FineWeb's), trafilatura's defaults, and the fast
``resiliparse`` step (DCLM's ``extract_plain_text(html, main_content=True)``), each scored against
the expected article text (``expected.html.gz`` with its tags stripped) by word-level
precision/recall/F1, and timed in CPU seconds of this thread (documents per CPU-second):

* words are lowercased ``\\w+`` tokens; the overlap of a page is the multiset intersection of the
  extracted and expected bags of words;
* per page: P = overlap / extracted words, R = overlap / expected words, F1 their harmonic mean;
* a page where extraction returns nothing (or no words) is counted under ``empty``: its R and F1
  are 0 and its P is undefined, so it is left out of the macro precision (it still pulls down the
  macro recall and F1, and the micro recall);
* macro = mean over pages; micro = from the summed overlap / extracted / expected word counts;
* pages are split into ``real`` snapshots (``source.html.gz`` of 15 KB or more, uncompressed) and
  tiny ``synthetic`` unit cases.

Language identification (``langid/``): our language step's model (``filters.language.load_model``,
the quantized lid.176) with the preprocessing of ``LanguageFilter.predict`` (newlines to spaces,
best label), on ``whatlang_examples.json`` and ``udhr_declarations_first4000chars.jsonl``. Gold
ISO 639-3 codes are mapped to lid.176 labels with ``ISO639_3_TO_LID176``; a language with no
lid.176 label is out of scope (reported, not scored). Accuracy is over in-scope texts only.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

from curation.errors import CurationError

REPO_ROOT = Path(__file__).resolve().parent.parent
EXTRACTION_SUBDIR = Path("extraction") / "mozilla-readability-testpages" / "pages"
LANGID_SUBDIR = Path("langid")
REAL_SNAPSHOT_MIN_BYTES = 15_000  # uncompressed source.html size that separates real snapshots from unit cases


def _our_settings() -> dict:
    """The keyword arguments our ``trafilatura`` step passes, from its default parameters."""
    from curation.extraction.trafilatura import TrafilaturaParams, trafilatura_options

    return trafilatura_options(TrafilaturaParams())


OUR_SETTINGS = _our_settings()
EXTRACTORS = ("ours", "default", "resiliparse")  # the settings evaluated, in the report's order


def _resiliparse_settings() -> dict:
    """The keyword arguments of ``extract_plain_text`` our ``resiliparse`` step passes by default."""
    from curation.extraction.resiliparse import ResiliparseParams, resiliparse_options

    return resiliparse_options(ResiliparseParams())


def extractors() -> dict:
    """{setting: html -> text} for each evaluated extractor: "ours" is our trafilatura step (FineWeb's
    settings, trafilatura's rules compiled), "default" trafilatura as shipped."""
    from resiliparse.extract.html2text import extract_plain_text
    from trafilatura import extract

    from curation.extraction import xpath_rules
    from curation.extraction.trafilatura import TrafilaturaExtractor

    ours = TrafilaturaExtractor()
    resiliparse = _resiliparse_settings()

    def as_shipped(html: str) -> str | None:
        xpath_rules.uninstall()  # "ours" put the compiled rules in place (cheap to swap back and forth)
        return extract(html)

    return {
        "ours": ours.extract,
        "default": as_shipped,
        "resiliparse": lambda html: extract_plain_text(html, **resiliparse),
    }

# ISO 639-3 (as in the data sets) -> lid.176 label, for the languages present in whatlang_examples.json
# and the UDHR file that lid.176 knows. lid.176's labels are Wikipedia language codes: mostly ISO 639-1,
# else ISO 639-3; an individual language is mapped to its macrolanguage's label where lid.176 has only
# that (cmn -> zh, arb -> ar, pes/prs -> fa, the Quechua varieties -> qu, ...). Beware: lid.176's
# ``als`` is Alemannic (Swiss German, ISO gsw), while ISO ``als`` is Tosk Albanian (-> sq).
# Codes absent from this table are out of scope (e.g. aka, sna, zul, hau, ibo, other Chinese varieties).
ISO639_3_TO_LID176: dict[str, str] = {
    "afr": "af", "als": "sq", "amh": "am", "ara": "ar", "arb": "ar", "ast": "ast", "aze": "az",
    "azj": "az", "azb": "azb", "bak": "ba", "bcl": "bcl", "bel": "be", "ben": "bn", "bho": "bh",
    "bod": "bo", "bos": "bs", "bre": "br", "bul": "bg", "cat": "ca", "ceb": "ceb", "ces": "cs",
    "chv": "cv", "ckb": "ckb", "cmn": "zh", "cos": "co", "cym": "cy", "dan": "da", "deu": "de",
    "div": "dv", "ekk": "et", "ell": "el", "eng": "en", "epo": "eo", "est": "et", "eus": "eu",
    "fin": "fi", "fra": "fr", "fry": "fy", "gla": "gd", "gle": "ga", "glg": "gl", "glv": "gv",
    "gsw": "als", "gug": "gn", "guj": "gu", "hat": "ht", "heb": "he", "hin": "hi", "hrv": "hr",
    "hsb": "hsb", "hun": "hu", "hye": "hy", "ido": "io", "ilo": "ilo", "ina": "ia", "ind": "id",
    "isl": "is", "ita": "it", "jav": "jv", "jpn": "ja", "kan": "kn", "kat": "ka", "kaz": "kk",
    "khk": "mn", "khm": "km", "kir": "ky", "kmr": "ku", "kor": "ko", "lao": "lo", "lat": "la",
    "lav": "lv", "lit": "lt", "ltz": "lb", "lvs": "lv", "mai": "mai", "mal": "ml", "mar": "mr",
    "min": "min", "mkd": "mk", "mlt": "mt", "mwl": "mwl", "mya": "my", "nds": "nds", "nep": "ne",
    "nhn": "nah", "nld": "nl", "nno": "nn", "nob": "no", "npi": "ne", "oci": "oc", "ori": "or",
    "ory": "or", "oss": "os", "pam": "pam", "pan": "pa", "pbu": "ps", "pes": "fa", "plt": "mg",
    "pnb": "pnb", "pol": "pl", "por": "pt", "prs": "fa", "que": "qu", "qug": "qu", "quh": "qu",
    "qul": "qu", "quy": "qu", "quz": "qu", "qva": "qu", "qvc": "qu", "qvh": "qu", "qvm": "qu",
    "qvn": "qu", "qwh": "qu", "qxn": "qu", "qxu": "qu", "roh": "rm", "ron": "ro", "rus": "ru",
    "sah": "sah", "san": "sa", "sco": "sco", "sin": "si", "slk": "sk", "slv": "sl", "som": "so",
    "spa": "es", "sqi": "sq", "srp": "sr", "sun": "su", "swe": "sv", "swh": "sw", "tam": "ta",
    "tat": "tt", "tel": "te", "tgk": "tg", "tgl": "tl", "tha": "th", "tuk": "tk", "tur": "tr",
    "tyv": "tyv", "uig": "ug", "ukr": "uk", "urd": "ur", "uzb": "uz", "uzn": "uz", "vec": "vec",
    "vep": "vep", "vie": "vi", "war": "war", "wln": "wa", "wuu": "wuu", "ydd": "yi", "yid": "yi",
    "yor": "yo", "yue": "yue", "zlm": "ms",
}  # fmt: skip

_WORD = re.compile(r"\w+")


def default_data_dir() -> Path:
    return Path(
        os.environ.get("CURATION_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")
    )


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise CurationError(
            f"{what} not found at {path}; set CURATION_SHARED_DATA to the real-data folder (default ../shared/data)"
        )
    return path


# --- extraction ------------------------------------------------------------------------------------


def words(text: str | None) -> list[str]:
    """Lowercased word tokens (``\\w+``)."""
    return _WORD.findall(text.lower()) if text else []


def word_prf(extracted: str | None, expected: str) -> dict:
    """Bag-of-words overlap of one page: counts and P/R/F1 (P is None when nothing was extracted)."""
    got, want = Counter(words(extracted)), Counter(words(expected))
    n_got, n_want = sum(got.values()), sum(want.values())
    overlap = sum((got & want).values())
    precision = overlap / n_got if n_got else None
    recall = overlap / n_want if n_want else (1.0 if not n_got else 0.0)
    p = precision or 0.0
    f1 = 2 * p * recall / (p + recall) if p + recall else 0.0
    return {
        "overlap": overlap,
        "extracted": n_got,
        "expected": n_want,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def aggregate(scores: list[dict]) -> dict:
    """Macro (mean over pages; precision over non-empty pages only) and micro (summed counts) P/R/F1."""
    n = len(scores)
    non_empty = [s for s in scores if s["precision"] is not None]
    macro_p = (
        sum(s["precision"] for s in non_empty) / len(non_empty) if non_empty else 0.0
    )
    macro_r = sum(s["recall"] for s in scores) / n if n else 0.0
    macro_f1 = sum(s["f1"] for s in scores) / n if n else 0.0
    overlap = sum(s["overlap"] for s in scores)
    got = sum(s["extracted"] for s in scores)
    want = sum(s["expected"] for s in scores)
    micro_p = overlap / got if got else 0.0
    micro_r = overlap / want if want else 0.0
    micro_f1 = 2 * micro_p * micro_r / (micro_p + micro_r) if micro_p + micro_r else 0.0
    return {
        "pages": n,
        "empty": n - len(non_empty),
        "macro": {"precision": macro_p, "recall": macro_r, "f1": macro_f1},
        "micro": {"precision": micro_p, "recall": micro_r, "f1": micro_f1},
    }


_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt", "figcaption",
     "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
     "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
)  # fmt: skip


def expected_text(html: str) -> str:
    """The text of an HTML fragment, tags stripped (``text_content()``), with a line break at each
    block element so that words of adjacent paragraphs are not glued together."""
    import lxml.html

    if not html.strip():
        return ""
    root = lxml.html.fromstring(html)
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK_TAGS:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
    return root.text_content()


def _read_gz(path: Path) -> bytes:
    with gzip.open(path, "rb") as f:
        return f.read()


def evaluate_extraction(data_dir: str | Path | None = None) -> dict:
    """Word-level P/R/F1 and CPU time of each extractor (ours, trafilatura's defaults, resiliparse), per page group."""
    root = _require(
        Path(data_dir or default_data_dir()) / EXTRACTION_SUBDIR,
        "extraction test pages",
    )
    cases = sorted(
        p
        for p in root.iterdir()
        if (p / "source.html.gz").is_file() and (p / "expected.html.gz").is_file()
    )
    if not cases:
        raise CurationError(
            f"no test pages (source.html.gz + expected.html.gz) under {root}"
        )
    settings = extractors()
    per_page: dict[str, dict] = {}
    seconds = dict.fromkeys(settings, 0.0)
    warm_up = _read_gz(cases[0] / "source.html.gz").decode("utf-8", errors="replace")
    for fn in settings.values():  # lazy imports and first-call set-up are not extraction time
        fn(warm_up)
    for case in cases:
        source = _read_gz(case / "source.html.gz")
        html = source.decode("utf-8", errors="replace")
        expected = expected_text(
            _read_gz(case / "expected.html.gz").decode("utf-8", errors="replace")
        )
        page = {
            "group": "real" if len(source) >= REAL_SNAPSHOT_MIN_BYTES else "synthetic"
        }
        for name, fn in settings.items():
            start = time.thread_time()
            try:
                text = fn(html)
            except Exception:  # noqa: BLE001 (the pipeline drops a page that crashes)
                text = None  # counted as nothing extracted
            seconds[name] += time.thread_time() - start
            page[name] = word_prf(text, expected)
        per_page[case.name] = page
    groups = {"real": [], "synthetic": [], "all": []}
    for name, page in per_page.items():
        groups[page["group"]].append(name)
        groups["all"].append(name)
    summary = {
        setting: {
            g: aggregate([per_page[n][setting] for n in names])
            for g, names in groups.items()
        }
        for setting in settings
    }
    return {
        "data": str(root),
        "settings": {"ours": OUR_SETTINGS, "default": "trafilatura.extract(html)", "resiliparse": _resiliparse_settings()},
        "summary": summary,
        "cpu_seconds": {k: round(v, 3) for k, v in seconds.items()},
        "docs_per_cpu_second": {k: round(len(cases) / v, 1) if v else None for k, v in seconds.items()},
        "pages": per_page,
    }


# --- language identification -------------------------------------------------------------------------


def lid176_label(iso639_3: str, labels: set[str] | None = None) -> str | None:
    """The lid.176 label of an ISO 639-3 code, or None when lid.176 does not know the language."""
    label = ISO639_3_TO_LID176.get(iso639_3)
    if label is not None and labels is not None and label not in labels:
        return None
    return label


def _load_langid(root: Path) -> dict[str, list[tuple[str, str, str]]]:
    """{dataset: [(iso639_3, item name, text)]}."""
    whatlang = _require(root / "whatlang_examples.json", "whatlang examples")
    udhr = _require(
        root / "udhr_declarations_first4000chars.jsonl", "UDHR declarations"
    )
    data = {
        "whatlang": [
            (code, code, text)
            for code, text in json.loads(whatlang.read_text("utf-8")).items()
        ]
    }
    rows = []
    with udhr.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                rows.append((r["iso639_3"], r.get("bcp47") or r["iso639_3"], r["text"]))
    data["udhr"] = rows
    return data


def evaluate_langid(data_dir: str | Path | None = None) -> dict:
    """Accuracy of our lid.176 step on whatlang and UDHR texts, per language and overall (in scope)."""
    from filters.language import LanguageFilter, load_model

    root = _require(
        Path(data_dir or default_data_dir()) / LANGID_SUBDIR,
        "language-identification data",
    )
    datasets = _load_langid(root)
    labels = {lab.split("__")[2] for lab in load_model().get_labels()}
    step = LanguageFilter(
        LanguageFilter.Params(label_only=True)
    )  # the pipeline's own predict()
    out = {}
    for name, items in datasets.items():
        per_lang: dict[str, dict] = {}
        errors = []
        out_of_scope = Counter()
        for iso, item, text in items:
            gold = lid176_label(iso, labels)
            if gold is None:
                out_of_scope[iso] += 1
                continue
            predicted, score, _, _ = step.predict(text)
            entry = per_lang.setdefault(iso, {"label": gold, "correct": 0, "total": 0})
            entry["total"] += 1
            if predicted == gold:
                entry["correct"] += 1
            else:
                errors.append(
                    {
                        "item": item,
                        "iso639_3": iso,
                        "expected": gold,
                        "predicted": predicted,
                        "score": round(score, 3),
                    }
                )
        correct = sum(e["correct"] for e in per_lang.values())
        total = sum(e["total"] for e in per_lang.values())
        out[name] = {
            "texts": len(items),
            "in_scope": total,
            "correct": correct,
            "accuracy": correct / total if total else 0.0,
            "languages_in_scope": len(per_lang),
            "languages_correct": sum(
                e["correct"] == e["total"] for e in per_lang.values()
            ),
            "out_of_scope": dict(sorted(out_of_scope.items())),
            "per_language": dict(sorted(per_lang.items())),
            "errors": errors,
        }
    return {
        "data": str(root),
        "model": "lid.176.ftz (filters.language.load_model)",
        "datasets": out,
    }


# --- report ---------------------------------------------------------------------------------------------


def _row(label: str, agg: dict) -> str:
    ma, mi = agg["macro"], agg["micro"]
    return (
        f"  {label:<22} {agg['pages']:>5} {agg['empty']:>5}   "
        f"{ma['precision']:.3f} {ma['recall']:.3f} {ma['f1']:.3f}   {mi['precision']:.3f} {mi['recall']:.3f} {mi['f1']:.3f}"
    )


def format_report(results: dict) -> str:
    lines = []
    ext = results.get("extraction")
    if ext:
        lines += [
            "Extraction quality (word-level bag-of-words P/R/F1 vs the expected article text)",
            f"  data: {ext['data']}",
            f"  ours: trafilatura.extract(html, {', '.join(f'{k}={v}' for k, v in OUR_SETTINGS.items())})  (FineWeb's settings)",
            "  default: trafilatura.extract(html)",
            f"  resiliparse: extract_plain_text(html, {', '.join(f'{k}={v}' for k, v in ext['settings']['resiliparse'].items())})"
            "  (the resiliparse step, DCLM's call)",
            "  empty: nothing extracted (R=F1=0, left out of macro P)",
            "",
            f"  {'group / settings':<22} {'pages':>5} {'empty':>5}   {'macro P   R     F1':<20}  {'micro P   R     F1'}",
        ]
        for group in ("real", "synthetic", "all"):
            for setting in EXTRACTORS:
                lines.append(
                    _row(f"{group} / {setting}", ext["summary"][setting][group])
                )
        lines.append(
            "  CPU time over all pages: "
            + ", ".join(
                f"{s} {ext['cpu_seconds'][s]:.2f} s ({ext['docs_per_cpu_second'][s]:,.0f} docs per CPU-second)"
                for s in EXTRACTORS
            )
        )
        lines.append("")
    lid = results.get("langid")
    if lid:
        lines += [
            "Language identification (lid.176, our language step's model and preprocessing)",
            f"  data: {lid['data']}",
        ]
        for name, d in lid["datasets"].items():
            lines.append(
                f"  {name}: accuracy {d['accuracy']:.3f} ({d['correct']}/{d['in_scope']} in-scope texts, "
                f"{d['languages_correct']}/{d['languages_in_scope']} languages all correct); "
                f"out of scope: {sum(d['out_of_scope'].values())} texts in {len(d['out_of_scope'])} languages"
            )
            wrong = {
                iso: e
                for iso, e in d["per_language"].items()
                if e["correct"] < e["total"]
            }
            if wrong:
                lines.append(
                    "    missed: "
                    + ", ".join(
                        f"{iso}->{e['label']} {e['correct']}/{e['total']}"
                        for iso, e in wrong.items()
                    )
                )
            if d["errors"]:
                lines.append(
                    "    predictions: "
                    + ", ".join(
                        f"{e['item']}={e['predicted']}" for e in d["errors"][:40]
                    )
                    + (" ..." if len(d["errors"]) > 40 else "")
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="curation eval",
        description="Measure extraction and language-ID quality on real data.",
    )
    parser.add_argument(
        "--data",
        help="real-data folder (default: $CURATION_SHARED_DATA or ../shared/data)",
    )
    parser.add_argument(
        "--json",
        metavar="OUT",
        help="also write all results, per page and per language, to this JSON file",
    )
    args = parser.parse_args(argv)
    data_dir = Path(args.data) if args.data else default_data_dir()
    try:
        _require(data_dir, "real-data folder")
        results = {
            "extraction": evaluate_extraction(data_dir),
            "langid": evaluate_langid(data_dir),
        }
    except CurationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(format_report(results))
    if args.json:
        Path(args.json).write_text(
            json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
