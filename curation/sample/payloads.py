"""Non-HTML payloads that a crawl fetches too (the reader drops them as non_html): PNG, PDF,
plain text and JavaScript, each small, valid and generated."""

from __future__ import annotations

import random
import struct
import zlib
from typing import Callable

from curation.sample.english import TOPICS, English


def _png(rng: random.Random, w: int = 24, h: int = 16) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(w * 3)) for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _pdf(rng: random.Random) -> bytes:
    text = English(rng, rng.choice(TOPICS)).sentence().replace("(", "").replace(")", "")
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _plain_text(rng: random.Random) -> bytes:
    en = English(rng, rng.choice(TOPICS))
    lines = [en.title(), "=" * 40, ""] + [en.paragraph(3) for _ in range(3)]
    return ("\n\n".join(lines) + "\n").encode("utf-8")


def _javascript(rng: random.Random) -> bytes:
    name = rng.choice(["menu", "carousel", "consent", "search", "lazyload", "analytics"])
    n = rng.randint(100, 900)
    return (f"(function () {{\n  'use strict';\n  var {name} = {{ delay: {n}, open: false }};\n"
            f"  function toggle() {{ {name}.open = !{name}.open; }}\n"
            f"  document.addEventListener('DOMContentLoaded', function () {{\n"
            f"    var el = document.querySelector('.{name}');\n"
            f"    if (el) {{ el.addEventListener('click', toggle); }}\n  }});\n}})();\n").encode()


# (content type, file extension, URL path pattern, payload maker), taken in turn
NON_HTML_KINDS: tuple[tuple[str, str, str, Callable[[random.Random], bytes]], ...] = (
    ("image/png", ".png", "images/photo-{}", _png),
    ("application/pdf", ".pdf", "files/report-{}", _pdf),
    ("text/plain", ".txt", "notes/readme-{}", _plain_text),
    ("application/javascript", ".js", "static/js/{}", _javascript),
)
