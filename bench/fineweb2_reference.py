"""datatrove 0.10.1's filters configured as FineWeb-2 configures them, per language: the reference for
``per_language: fineweb2`` (tests/test_fineweb2.py, bench/bench_multilingual.py; the pipeline never imports it).

FineWeb-2's ``fineweb-2-pipeline.py`` builds, for each language ``code``, with its config ``cfg``:

- ``LambdaFilter(metadata["language_score"] >= cfg["language_score"])`` after GlotLID;
- ``GopherRepetitionFilter(language=code, dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0,
  dup_line_frac=cfg[...], top_n_grams=cfg[...], dup_n_grams=cfg[...])``;
- ``FineWebQualityFilter(language=code, short_line_thr=999, char_duplicates_ratio=0.1,
  line_punct_thr=cfg[...], new_line_ratio=cfg[...])``;
- ``GopherQualityFilter(language=code, max_avg_word_length=cfg[...], min_avg_word_length=cfg[...],
  stop_words=cfg["stopwords"], max_non_alpha_words_ratio=cfg[...], min_stop_words=2)``.

The same is built here from the YAML values (read by ``yaml.safe_load`` from the shared data when it is
there, else from our packed copy). For the languages whose datatrove tokenizer downloads models (stanza,
botok), ``language`` is datatrove's ``WhitespaceTokenizer`` instead of the code: the fallback we run too.
Language ID: datatrove's ``LanguageFilter(label_only=True)`` on the local lid.176 model, its label mapped
by our table (the mapping is our choice; the model call and the threshold rule are FineWeb-2's).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.datatrove_filters import reference_document, verdict

FILTERS = ("gopher_repetition", "fineweb_quality", "gopher_quality")  # FineWeb-2's order
_ISO3 = re.compile(r"^[a-z]{3}$")


@functools.cache
def _yaml_config(code: str) -> dict[str, Any]:
    """The config as FineWeb-2 reads it (the YAML file in the shared data), else our packed values."""
    import yaml

    from bench.real_texts import shared_data_dir

    path = shared_data_dir() / "fineweb2" / "configs" / f"{code}.yml"
    if path.is_file():
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    import dataclasses

    from filters.fineweb2 import language_config

    raw = dataclasses.asdict(language_config(code))
    raw["stopwords"] = list(raw.pop("stopwords"))
    return raw


def _language_argument(code: str):
    from filters.fineweb2.word_tokenizers import _whitespace_tokenizer, assignment

    return _whitespace_tokenizer() if assignment(code).fallback else code


@functools.cache
def reference_filters(code: str) -> dict[str, Any]:
    """datatrove's three filters for ``code``, as fineweb-2-pipeline.py builds them."""
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

    cfg = _yaml_config(code)
    language = _language_argument(code)
    return {
        "gopher_repetition": GopherRepetitionFilter(
            language=language,
            dup_para_frac=0,
            dup_line_char_frac=0,
            dup_para_char_frac=0,
            dup_line_frac=cfg["dup_line_frac"],
            top_n_grams=cfg["top_n_grams"],
            dup_n_grams=cfg["dup_n_grams"],
        ),
        "fineweb_quality": FineWebQualityFilter(
            language=language,
            short_line_thr=999,
            char_duplicates_ratio=0.1,
            line_punct_thr=cfg["line_punct_thr"],
            new_line_ratio=cfg["new_line_ratio"],
        ),
        "gopher_quality": GopherQualityFilter(
            language=language,
            max_avg_word_length=cfg["max_avg_word_length"],
            min_avg_word_length=cfg["min_avg_word_length"],
            stop_words=cfg["stopwords"],
            max_non_alpha_words_ratio=cfg["max_non_alpha_words_ratio"],
            min_stop_words=2,
        ),
    }


@functools.cache
def reference_language_filter():
    from datatrove.pipeline.filters import LanguageFilter
    from fasttext.FastText import _FastText

    from curation.assets import lid176_path

    f = LanguageFilter(label_only=True)
    f.model._model = _FastText(str(lid176_path()))
    return f


def reference_language(text: str) -> tuple[str, float, bool | tuple[bool, str]]:
    """(FineWeb-2 code, score, keep) as datatrove's LanguageFilter + FineWeb-2's per-language LambdaFilter."""
    from filters.fineweb2 import language_config
    from filters.fineweb2.lid176 import fineweb2_code

    doc = reference_document(text)
    reference_language_filter().filter(doc)
    code, score = fineweb2_code(doc.metadata["language"]), doc.metadata["language_score"]
    if language_config(code) is None:
        return code, score, (False, "no_language_config")
    return code, score, score >= _yaml_config(code)["language_score"]  # FineWeb-2's LambdaFilter


def reference_outcome(text: str, code: str) -> dict[str, tuple[bool, str | None]]:
    """Each of datatrove's three filters on ``text`` alone, in FineWeb-2's order (they share datatrove's
    word cache, as in its pipeline)."""
    filters = reference_filters(code)
    return {name: verdict(filters[name].filter(reference_document(text))) for name in FILTERS}


@functools.cache
def our_filters() -> dict[str, Any]:
    """Our three filters with ``per_language: fineweb2`` (one instance each, as in a stage)."""
    from curation.registry import step_class

    return {name: step_class(name)(step_class(name).Params(per_language="fineweb2")) for name in FILTERS}


def our_outcome(text: str, code: str) -> dict[str, tuple[bool, str | None]]:
    from curation.document import Document

    out = {}
    for name, step in our_filters().items():
        doc = Document(id="doc", text=text, metadata={"language": code})
        out[name] = verdict(step.filter(doc))
    return out


@dataclass(frozen=True)
class Case:
    """One text checked in one language."""

    sample_id: str
    code: str
    text: str


def labelled_codes(sample) -> list[str]:
    """The configs of a labelled passage's ISO 639-3 language (every script FineWeb-2 has for it)."""
    from filters.fineweb2 import language_codes

    if sample.source == "udhr":
        iso = sample.url.rsplit("/", 1)[-1]
    elif sample.source == "whatlang":
        iso = sample.id.split("/", 1)[1]
    else:
        return []
    if not _ISO3.match(iso):
        return []
    return [c for c in language_codes() if c.startswith(iso + "_")]


def cases(samples) -> list[Case]:
    """Every non-English text in every FineWeb-2 language it is labelled with or that lid.176 says it is in.

    The WARC and readability pages have no label: lid.176 decides (English and languages without a
    config are left out). Labelled passages (UDHR, whatlang) are checked in each config of their ISO
    639-3 code, and in lid.176's language too when that has a config."""
    from filters.fineweb2 import language_config

    out = []
    for s in samples:
        codes = labelled_codes(s)
        code, _, _ = reference_language(s.text)
        if language_config(code) is not None and code not in codes:
            codes.append(code)
        out.extend(Case(s.id, c, s.text) for c in codes)
    return out


def multilingual_samples():
    """The non-English real texts: the labelled passages and the pages lid.176 does not call English."""
    from bench.real_texts import extracted_pages, langid_texts

    pages = [s for s in extracted_pages() if reference_language(s.text)[0] != "eng_Latn"]
    return [s for s in langid_texts() if not s.id.endswith("/eng") and "/eng" not in s.url] + pages


def langid_texts_udhr():
    from bench.real_texts import langid_texts

    return [s for s in langid_texts() if s.source == "udhr"]


def english_pages():
    """The real pages lid.176 calls English (the language step must drop them as no_language_config)."""
    from bench.real_texts import extracted_pages

    return [s for s in extracted_pages() if reference_language(s.text)[0] == "eng_Latn"]


def shared_data_present() -> bool:
    from bench.real_texts import shared_data_dir

    return (Path(os.fspath(shared_data_dir())) / "langid").is_dir()
