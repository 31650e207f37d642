"""Text repairs of FineWeb-2's last pass ("final touches"), as datatrove 0.10.1's formatters.

- ``ftfy``: datatrove's ``FTFYFormatter``: ``ftfy.fix_text`` with datatrove's settings (repair mojibake
  and other encoding damage, C1 controls, surrogates, control characters, terminal escapes; leave
  ligatures, character widths, curly quotes, line breaks and Unicode normalisation as they are, since
  models should see those as written).
- ``symbol_lines``: datatrove's ``SymbolLinesFormatter``: each run of lines made only of the given
  symbols and spaces becomes one ``replace_char`` (FineWeb-2: ``|`` lines, trafilatura's table
  leftovers, become one empty line). As datatrove's, the text is re-joined from ``str.splitlines()``:
  line breaks become ``\\n`` and a final line break goes.

Each counts the documents whose text it changed (``documents_changed``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Literal

from curation.document import Document
from curation.stats import StepStats
from curation.step import DocumentStep, StepParams


class FTFYParams(StepParams):
    # datatrove's FTFYFormatter defaults, argument for argument
    unescape_html: Literal["auto"] | bool = "auto"
    remove_terminal_escapes: bool = True
    fix_encoding: bool = True
    restore_byte_a0: bool = True
    replace_lossy_sequences: bool = True
    decode_inconsistent_utf8: bool = True
    fix_c1_controls: bool = True
    fix_latin_ligatures: bool = False
    fix_character_width: bool = False  # True would force half-width punctuation on Chinese and Japanese
    uncurl_quotes: bool = False
    fix_line_breaks: bool = False
    fix_surrogates: bool = True
    remove_control_chars: bool = True
    normalization: Literal["NFC", "NFD", "NFKC", "NFKD"] | None = None


@functools.cache
def _fixer_config(params: FTFYParams):
    from ftfy import TextFixerConfig

    return TextFixerConfig(**params.model_dump())


class FTFYFormatter(DocumentStep):
    """Repair broken text encodings (ftfy), as FineWeb-2 does before publishing."""

    name = "ftfy"
    Params = FTFYParams

    def run(self, docs: Iterable[Document], stats: StepStats) -> Iterator[Document]:
        import ftfy

        config = _fixer_config(self.params)
        for doc in docs:
            fixed = ftfy.fix_text(doc.text, config=config)
            if fixed != doc.text:
                doc.text = fixed
                stats.count("documents_changed")
            yield doc


class SymbolLinesParams(StepParams):
    symbols: tuple[str, ...] | None = None  # None: datatrove's PUNCTUATION_SET
    replace_char: str = ""  # "\n": a removed run of lines leaves one empty line


def remove_symbol_lines(text: str, symbols: frozenset[str], replace_char: str) -> str:
    """datatrove ``SymbolLinesFormatter.format``: each run of symbol-only lines (a line of only spaces
    is not one) becomes one ``replace_char`` line, or nothing."""
    lines = text.splitlines()
    if len(symbols) <= 4 and not any(s in text for s in symbols):
        return "\n".join(lines)  # no symbol line possible: only the re-join remains
    out = []
    in_run = False
    for line in lines:
        symbol_line = line.strip() != "" and all(c in symbols or c == " " for c in line)
        if symbol_line:
            if not in_run and replace_char:
                out.append(replace_char)
            in_run = True
        else:
            out.append(line)
            in_run = False
    return "\n".join(out)


class SymbolLinesFormatter(DocumentStep):
    """Collapse runs of lines made only of symbols (FineWeb-2: trafilatura's ``|`` table leftovers)."""

    name = "symbol_lines"
    Params = SymbolLinesParams

    def __init__(self, params: StepParams | None = None, label: str | None = None):
        super().__init__(params, label)
        if self.params.symbols is None:
            from datatrove.utils.text import PUNCTUATION_SET

            self._symbols = frozenset(PUNCTUATION_SET)
        else:
            self._symbols = frozenset(self.params.symbols)

    def run(self, docs: Iterable[Document], stats: StepStats) -> Iterator[Document]:
        symbols, replace_char = self._symbols, self.params.replace_char
        for doc in docs:
            fixed = remove_symbol_lines(doc.text, symbols, replace_char)
            if fixed != doc.text:
                doc.text = fixed
                stats.count("documents_changed")
            yield doc
