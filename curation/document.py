"""The one record type every step sees: a document flowing through a stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Document:
    """A web document.

    Before extraction ``text`` holds the decoded HTML (as in datatrove); after it, the main text.
    ``metadata`` collects what steps learn about the document (language, scores, ...); it is
    stored with the document in every shard, so nothing a filter computed is lost.
    """

    id: str  # WARC-Record-ID, e.g. "<urn:uuid:...>"
    text: str
    url: str = ""
    date: str = ""  # WARC-Date, ISO 8601
    source: str = ""  # the input file this document came from
    metadata: dict[str, Any] = field(default_factory=dict)
