"""A filter's settings for one document: its own, or with ``per_language: fineweb2`` those of the document's language.

The English FineWeb recipe gives each filter one set of settings and English words. FineWeb-2 runs the
same filters once per language, each with that language's config and word tokenizer. A filter with
``per_language: fineweb2`` does the same in one pass: for a document whose ``metadata["language"]``
(set by the ``language`` step with ``per_language: fineweb2``) is ``fra_Latn``, it takes the settings
FineWeb-2 gives ``fra_Latn`` (``LanguageConfig.step_settings``, its config values and fixed values, over
the step's own settings) and French words. A document whose language has no config is dropped as
``no_language_config``. Settings are built once per language per step instance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from curation.document import Document
from curation.errors import CurationError
from curation.step import StepParams
from filters import words as _words
from filters.fineweb2 import language_config
from filters.fineweb2.word_tokenizers import Splitter, missing_packages, splitter

NO_LANGUAGE_CONFIG = "no_language_config"
PerLanguage = Literal["fineweb2"] | None  # the type of every filter's ``per_language`` setting


class _English(Splitter):
    """datatrove's English words (``filters.words``), FineWeb's tokenizer."""

    spaced = False

    def words(self, text: str) -> list[str]:
        return _words.words(text)

    def count_words(self, text: str) -> int:
        return _words.count_words(text)


ENGLISH = _English()


@dataclass(frozen=True)
class Setting:
    """What a filter needs for one document: its parameters, a word splitter and what it derives from them."""

    params: Any
    splitter: Splitter
    derived: Any = None


class LanguageSettings:
    """One filter's settings per language (``for_doc``), built on first use."""

    def __init__(self, step: str, params: StepParams, derive: Callable[[Any], Any] = lambda p: None):
        self.step = step
        self.derive = derive
        self.per_language = getattr(params, "per_language", None)
        self.default = Setting(params, ENGLISH, derive(params))
        self._by_language: dict[str | None, Setting | None] = {}

    def preflight(self, label: str) -> None:
        """Before a run: every word tokenizer a language may need is installed."""
        if self.per_language is None:
            return
        missing = missing_packages()
        if missing:
            detail = "; ".join(f"{m} (for {len(codes)} languages, e.g. {codes[0]})" for m, codes in sorted(missing.items()))
            raise CurationError(f"step {label!r}: per_language: fineweb2 needs word tokenizers that are not installed: {detail}; run `make install`")

    def warm_up(self) -> None:
        """Load the English word tokenizer (spaCy, ~1 s) before the first shard. With ``per_language``
        the languages are known only from the documents: each tokenizer loads on its first text."""
        if self.per_language is None:
            _words.spacy_objects()

    def for_doc(self, doc: Document) -> Setting | None:
        """The document's setting; None: its language has no FineWeb-2 config."""
        if self.per_language is None:
            return self.default
        language = doc.metadata.get("language")
        try:
            return self._by_language[language]
        except KeyError:
            setting = self._build(language)
            self._by_language[language] = setting
            return setting

    def _build(self, language: str | None) -> Setting | None:
        config = language_config(language)
        if config is None:
            return None
        base = self.default.params
        values = {**base.model_dump(), **config.step_settings(self.step), "per_language": None}
        params = type(base).model_validate(values)
        return Setting(params, splitter(config.code), self.derive(params))
