"""FineWeb-2's per-language settings: its 1,929 published configs and the values it fixes for every language.

FineWeb-2 (huggingface/fineweb-2, ``fineweb-2-pipeline.py``) runs datatrove's filters once per language,
each configured from ``configs/<iso639-3>_<Script>.yml`` (thresholds and stop words) plus a few values
that are the same for every language. This package carries those configs, packed into one file
(``configs.json.gz``, made by ``python -m filters.fineweb2.pack``; licence in ``LICENSE`` and ``NOTICE``),
read once per process, and says in one place which datatrove argument each value feeds:

===================  ================================  =============================================
step                 from the language's config        fixed by FineWeb-2 for every language
===================  ================================  =============================================
language             ``language_score`` (keep if >=)    GlotLID labels (here lid.176 mapped, see
                                                       ``filters.fineweb2.lid176``, or GlotLID)
gopher_repetition    ``dup_line_frac``, ``top_n_grams``, ``dup_para_frac``, ``dup_para_char_frac``,
                     ``dup_n_grams``                   ``dup_line_char_frac`` = 0 (off)
fineweb_quality      ``line_punct_thr``,               ``short_line_thr`` = 999 (off),
                     ``new_line_ratio``                ``char_duplicates_ratio`` = 0.1 (EN 0.01)
gopher_quality       ``min_avg_word_length``,          ``min_stop_words`` = 2; the rest datatrove's
                     ``max_avg_word_length``,          defaults (50..100,000 words, 0.1 ``#`` and
                     ``max_non_alpha_words_ratio``,    ellipsis per word, 90% bullet lines, 30%
                     ``stopwords`` -> ``stop_words``   ellipsis lines)
===================  ================================  =============================================

Every word-level quantity uses the language's own word tokenizer (``filters.fineweb2.word_tokenizers``).
A value of 0 switches a check off, as in datatrove (``if self.dup_line_frac and ...``): 6 configs have
``dup_line_frac: 0`` and 5 ``min_avg_word_length: 0``. ``line_punct_thr: -1`` (1,613 configs) keeps every
document (a ratio is never below -1).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.resources import worker_resource

CONFIGS_FILE = Path(__file__).with_name("configs.json.gz")
SOURCE = "huggingface/fineweb-2, commit d0defb24f193bb9a5a11b8b14524a03c4858e1b6 (configs/*.yml), Apache-2.0"
CONFIG_KEYS = (
    "language_score",
    "dup_line_frac",
    "top_n_grams",
    "dup_n_grams",
    "line_punct_thr",
    "new_line_ratio",
    "min_avg_word_length",
    "max_avg_word_length",
    "max_non_alpha_words_ratio",
    "stopwords",
)

# The values fineweb-2-pipeline.py passes to every language's filters (the same for all).
FIXED: dict[str, dict[str, Any]] = {
    # "we disable these. trafilatura pretty much removes paragraph and we use a different threshold
    # for dup_line_char_frac in fineweb quality"
    "gopher_repetition": {"dup_para_frac": 0, "dup_line_char_frac": 0, "dup_para_char_frac": 0},
    # the short-line rule is off; the duplicated-line characters may reach 10% instead of 1%
    "fineweb_quality": {"short_line_thr": 999, "char_duplicates_ratio": 0.1},
    "gopher_quality": {"min_stop_words": 2},
}

# language step -> the datatrove argument names of the config keys each filter takes
_FROM_CONFIG: dict[str, dict[str, str]] = {
    "gopher_repetition": {"dup_line_frac": "dup_line_frac", "top_n_grams": "top_n_grams", "dup_n_grams": "dup_n_grams"},
    "fineweb_quality": {"line_punct_thr": "line_punct_thr", "new_line_ratio": "new_line_ratio"},
    "gopher_quality": {
        "max_avg_word_length": "max_avg_word_length",
        "min_avg_word_length": "min_avg_word_length",
        "stopwords": "stop_words",
        "max_non_alpha_words_ratio": "max_non_alpha_words_ratio",
    },
}


@dataclass(frozen=True)
class LanguageConfig:
    """One language's FineWeb-2 config (the YAML's keys, lists made tuples)."""

    code: str  # <iso639-3>_<Script>, e.g. fra_Latn
    language_score: float
    dup_line_frac: float
    top_n_grams: tuple[tuple[int, float], ...]
    dup_n_grams: tuple[tuple[int, float], ...]
    line_punct_thr: float
    new_line_ratio: float
    min_avg_word_length: int
    max_avg_word_length: int
    max_non_alpha_words_ratio: float
    stopwords: tuple[str, ...]

    def step_settings(self, step: str) -> dict[str, Any]:
        """The arguments FineWeb-2 gives datatrove's filter for ``step`` in this language (ours take the same names)."""
        if step not in _FROM_CONFIG:
            raise KeyError(f"FineWeb-2 has no per-language settings for step {step!r}; it has {list(_FROM_CONFIG)}")
        settings = {arg: getattr(self, key) for key, arg in _FROM_CONFIG[step].items()}
        settings.update(FIXED[step])
        return settings


def _pairs(values: list) -> tuple[tuple[int, float], ...]:
    return tuple((int(n), frac) for n, frac in values)


def _config(code: str, raw: dict[str, Any]) -> LanguageConfig:
    return LanguageConfig(
        code=code,
        **{k: raw[k] for k in CONFIG_KEYS if k not in ("top_n_grams", "dup_n_grams", "stopwords")},
        top_n_grams=_pairs(raw["top_n_grams"]),
        dup_n_grams=_pairs(raw["dup_n_grams"]),
        stopwords=tuple(raw["stopwords"]),
    )


@worker_resource
def _configs() -> dict[str, LanguageConfig]:
    """Every config, read once per process (``_configs.cache_info().misses`` counts the reads)."""
    with gzip.open(CONFIGS_FILE, "rt", encoding="utf-8") as f:
        raw = json.load(f)
    return {code: _config(code, values) for code, values in raw.items()}


def language_config(code: str | None) -> LanguageConfig | None:
    """FineWeb-2's config for ``code`` (``<iso639-3>_<Script>``), or None when it has none (e.g. ``eng_Latn``:
    English is FineWeb's, not FineWeb-2's)."""
    if code is None:
        return None
    return _configs().get(code)


def language_codes() -> tuple[str, ...]:
    """The 1,929 codes with a config, sorted."""
    return tuple(sorted(_configs()))
