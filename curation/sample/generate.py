"""Writing a sample: the planned pages in crawl order, split over the WARC files, with the damaged
record planted, and the manifest that labels every response record; and the command line."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import random
import time
from pathlib import Path

from curation.sample.planner import Page, Planner
from curation.sample.warc import (
    corrupt_member,
    http_response,
    metadata_member,
    record_id,
    request_member,
    response_member,
    warcinfo_member,
)

GENERATOR = "curation.sample"
FILE_TEMPLATE = "sample-{:04d}.warc.gz"
MANIFEST_NAME = "manifest.json"


def _order(pages: list[Page], rng: random.Random) -> list[Page]:
    """Shuffle, keeping every copy after the page it copies."""
    copies = [p for p in pages if p.duplicate_of or p.near_duplicate_of or p.similar_to]
    rest = [p for p in pages if not (p.duplicate_of or p.near_duplicate_of or p.similar_to)]
    rng.shuffle(rest)
    order = rest[:]
    for c in sorted(copies, key=lambda p: p.key):
        src = c.duplicate_of or c.near_duplicate_of or c.similar_to
        pos = next(i for i, p in enumerate(order) if p.key == src)
        order.insert(rng.randint(pos + 1, len(order)), c)
    return order


def generate_sample(output_dir: str | os.PathLike, seed: int = 0, files: int = 6) -> dict:
    """Write sample-0000.warc.gz ... and manifest.json into output_dir; return the manifest dict."""
    if files < 1:
        raise ValueError("files must be >= 1")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    planner = Planner(seed, files)
    pages = planner.plan()
    rng = random.Random(f"curation.sample:order:{seed}")
    order = _order(pages, rng)
    ids = random.Random(f"curation.sample:ids:{seed}")
    for p in order:
        p.record_id = record_id(ids)
    by_key = {p.key: p for p in order}

    # the damaged record: a good English article in the middle of a middle file
    dr = random.Random(f"{seed}:damaged")
    damaged, _, _ = planner.article_page("damaged_record", dr)
    damaged.expected = "reader:damaged_record"
    damaged.record_id = record_id(ids)
    damaged_file = min(2, files - 1)

    chunks = [order[i * len(order) // files:(i + 1) * len(order) // files] for i in range(files)]
    chunk = chunks[damaged_file]
    chunk.insert(max(1, len(chunk) // 2), damaged)

    names = [FILE_TEMPLATE.format(i) for i in range(files)]
    records: list[dict] = []
    for fi, (name, chunk) in enumerate(zip(names, chunks)):
        data, entries = _warc_file(name, chunk, seed, fi, files, ids)
        (out / name).write_bytes(data)
        records += [_manifest_entry(p, name, offset, length, by_key) for p, offset, length in entries]

    manifest = {"seed": seed, "generator": GENERATOR, "files": names, "records": records,
                "counts": _counts(records)}
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def _warc_file(name: str, chunk: list[Page], seed: int, index: int, files: int,
               ids: random.Random) -> tuple[bytes, list[tuple[Page, int, int]]]:
    """The bytes of one WARC file (warcinfo, then request, response and sometimes metadata per page)
    and (page, offset, length) of each response record.  Its times and addresses come from a
    generator of its own; its record IDs from ``ids``, shared by all files in turn."""
    frng = random.Random(f"curation.sample:file:{seed}:{index}")
    year_start = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)
    when = year_start + _dt.timedelta(days=index * 366 / files, seconds=frng.randrange(3600))
    buf = bytearray()
    info_id = record_id(ids)
    buf += warcinfo_member(name, when, info_id, seed)
    entries = []
    for p in chunk:
        when += _dt.timedelta(seconds=frng.randint(1, 90))
        req_id = record_id(ids)
        buf += request_member(p.url, when, req_id, info_id, f"203.0.113.{frng.randrange(1, 255)}")
        http = http_response(frng, p.status, p.http_content_type, p.body, when, location=p.location,
                             chunked=p.chunked, gzip_body=p.gzip_body)
        member = response_member(p.url, http, when, p.record_id, info_id, req_id,
                                 f"203.0.113.{frng.randrange(1, 255)}", p.content_type)
        if p.case == "damaged_record":
            member = corrupt_member(member)
        entries.append((p, len(buf), len(member)))
        buf += member
        if p.case != "damaged_record" and frng.random() < 0.4:
            fields = (f"fetchTimeMs: {frng.randint(40, 2400)}\r\n"
                      f"charset-detected: {(p.charset or 'binary').upper()}\r\n").encode()
            buf += metadata_member(p.url, when, record_id(ids), info_id, p.record_id, fields)
    return bytes(buf), entries


def _manifest_entry(p: Page, name: str, offset: int, length: int, by_key: dict) -> dict:
    entry = {
        "id": p.record_id, "file": name, "offset": offset, "length": length, "url": p.url, "case": p.case,
        "lang": p.lang, "http_status": p.status, "content_type": p.content_type, "expected": p.expected,
        "expected_step": p.expected_step,
        "duplicate_of": by_key[p.duplicate_of].record_id if p.duplicate_of else None,
        "near_duplicate_of": by_key[p.near_duplicate_of].record_id if p.near_duplicate_of else None,
        "similar_to": by_key[p.similar_to].record_id if p.similar_to else None,
        "charset": p.charset, "charset_source": p.charset_source,
        "transfer_encoding": "chunked" if p.chunked else None,
        "content_encoding": "gzip" if p.gzip_body else None,
    }
    if p.variant:
        entry["variant"] = p.variant
    if p.edit_fraction is not None:
        entry["edit_fraction"] = p.edit_fraction
    if p.jaccard is not None:
        entry["jaccard"] = p.jaccard
    return entry


def _counts(records: list[dict]) -> dict:
    out: dict[str, int] = {}
    for r in records:
        out[r["case"]] = out.get(r["case"], 0) + 1
    return dict(sorted(out.items()))


def main(argv: list[str] | None = None) -> int:
    """``python -m curation.sample --output DIR [--seed N] [--files N]``."""
    ap = argparse.ArgumentParser(prog="python -m curation.sample",
                                 description="Write the bundled synthetic WARC sample and its manifest.")
    ap.add_argument("--output", "-o", required=True, help="directory to write into")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--files", type=int, default=6)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    manifest = generate_sample(args.output, seed=args.seed, files=args.files)
    dt = time.perf_counter() - t0
    counts = ", ".join(f"{k}={v}" for k, v in manifest["counts"].items())
    print(f"wrote {len(manifest['files'])} WARC files, {len(manifest['records'])} responses "
          f"to {args.output} in {dt:.2f}s ({counts})")
    return 0
