"""The generator's word lists, phrase tables and templates: JSON files in ``data/`` beside the code.

Each module loads the files it needs once, at import.  The files are package data
(pyproject.toml), so an installed copy writes the same sample as a checkout.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load(name: str) -> Any:
    """The parsed JSON of ``curation/sample/data/<name>``."""
    return json.loads((resources.files("curation.sample") / "data" / name).read_text(encoding="utf-8"))
