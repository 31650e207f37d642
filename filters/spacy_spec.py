"""A spaCy tokenizer's rules as plain data, kept between processes so that a worker splits words without
importing spaCy.

``filters.words`` needs from a blank spaCy pipeline only data: its prefix, suffix and infix regexes,
``token_match`` and ``url_match`` (compiled ``re`` patterns), its special cases and the pieces each one
becomes, and what it derives from them (the matcher's adjacent pairs and the patterns that change tokens).
Importing spaCy and building the pipeline costs ~0.7 s of every worker process (2 cores); reading this
file and compiling five patterns, a few hundredths. The first process that builds a language with spaCy
writes the file to ``curation.assets.derived_cache_dir()``, named by the language, spaCy's version and
this format; a file that does not read back whole is ignored (and replaced). Where a tokenizer's rules are
not plain data (a function of its own, a pattern of the ``regex`` module), nothing is written and every
process builds it with spaCy, as before. tests/test_spacy_affixes.py checks that the data read back
equals what spaCy gives, in every spaCy language FineWeb-2 uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

FORMAT = 3
REGEXES = ("prefix_search", "suffix_search", "infix_finditer", "token_match", "url_match")
DEFAULT_IS_PUNCT = "spacy.lang.lex_attrs.is_punct"  # the lexeme attribute every spaCy language uses


def spacy_version() -> str | None:
    try:
        return metadata.version("spacy")
    except metadata.PackageNotFoundError:
        return None


def _path(lang: str) -> Path | None:
    from curation.assets import derived_cache_dir

    base, version = derived_cache_dir(), spacy_version()
    if base is None or version is None or not re.fullmatch(r"[A-Za-z_-]+", lang):
        return None
    return base / f"spacy-tokenizer-{lang}-{version}-v{FORMAT}.json"


def regex_data(method: Any) -> list | None:
    """``[pattern, flags, method name]`` for a bound method of a compiled ``re`` pattern; None otherwise."""
    pattern = getattr(method, "__self__", None)
    if not isinstance(pattern, re.Pattern) or getattr(method, "__name__", None) not in ("search", "match", "finditer", "fullmatch"):
        return None
    return [pattern.pattern, pattern.flags, method.__name__]


def compiled(data: list | None):
    """The bound method ``regex_data`` describes (None for None)."""
    if data is None:
        return None
    pattern, flags, name = data
    return getattr(re.compile(pattern, flags), name)


def load(lang: str) -> dict[str, Any] | None:
    """The rules kept for ``lang`` under the installed spaCy, or None."""
    path = _path(lang)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("lang") != lang or data.get("spacy") != spacy_version():
        return None
    if data.get("is_punct") != DEFAULT_IS_PUNCT or not all(k in data for k in ("regexes", "rules", "pairs", "effectful", "patterns", "safe", "punct_chars")):
        return None
    return data


def save(lang: str, data: dict[str, Any]) -> None:
    """Keep ``data`` for ``lang`` (written aside, then renamed: whole or not at all); nothing where no cache folder is usable."""
    path = _path(lang)
    if path is None:
        return
    try:
        text = json.dumps({"format": FORMAT, "lang": lang, "spacy": spacy_version(), **data}, ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    except (OSError, ValueError):  # no room, no permission, text JSON cannot hold
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def is_punct(text: str) -> bool:
    """spaCy's lexeme attribute ``is_punct`` (``spacy.lang.lex_attrs.is_punct``), without importing spaCy."""
    import unicodedata

    for char in text:
        if not unicodedata.category(char).startswith("P"):
            return False
    return True
