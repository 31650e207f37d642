"""Pack FineWeb-2's per-language configs (``configs/<code>.yml``) into ``configs.json.gz``.

    python -m filters.fineweb2.pack ../shared/data/fineweb2/configs

The YAML files are read with ``yaml.safe_load``, as FineWeb-2's pipeline reads them, so every
value (ints stay ints: ``line_punct_thr: -1``, ``dup_line_frac: 0``) is the one datatrove was given.
The output is deterministic (sorted keys, gzip without a timestamp): packing twice gives the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import yaml

from filters.fineweb2 import CONFIG_KEYS, CONFIGS_FILE


def read_configs(folder: Path) -> dict[str, dict]:
    configs = {}
    for path in sorted(folder.glob("*.yml")):
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(config, dict) or set(config) != set(CONFIG_KEYS):
            raise SystemExit(f"{path}: expected exactly the keys {sorted(CONFIG_KEYS)}")
        configs[path.stem] = config
    if not configs:
        raise SystemExit(f"{folder}: no *.yml config")
    return configs


def write_packed(configs: dict[str, dict], out: Path) -> None:
    data = json.dumps(configs, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as f:
        f.write(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", type=Path, help="the folder of FineWeb-2's configs/*.yml")
    parser.add_argument("--out", type=Path, default=CONFIGS_FILE)
    args = parser.parse_args(argv)
    configs = read_configs(args.configs)
    write_packed(configs, args.out)
    print(f"{len(configs)} configs -> {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
