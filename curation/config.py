"""Pipeline files: the ordered stages and steps of a run, validated before any work starts.

    name: fineweb
    stages:
      extract:                 # WARC files -> documents
        - warc_reader: {}
        - url_filter: {}
        - trafilatura: {favour_precision: true, timeout: 1.0}
      filter:                  # documents -> documents
        - language: {languages: [en], language_threshold: 0.65}

Each step is a one-key mapping from a registered step name to its settings. An unknown stage or
step, a misspelt key or a wrong type raises ``ConfigError`` naming the file, stage, step and key.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from curation.errors import ConfigError
from curation.step import STEPS, PipelineStep, StepParams, load_all_steps

# Stages in the order data flows; a pipeline lists a subset, in this order.
STAGE_KINDS = ("extract", "filter", "dedup", "tokenize")


@dataclass(frozen=True)
class StepSpec:
    name: str  # registered step name
    label: str  # unique in its stage: the name, or name#2 for a second use
    params: StepParams

    def build(self) -> PipelineStep:
        return STEPS[self.name](self.params, self.label)

    def to_dict(self) -> dict[str, Any]:
        return {self.name: self.params.model_dump(mode="json")}


@dataclass(frozen=True)
class StageSpec:
    name: str
    steps: tuple[StepSpec, ...]

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.steps]

    def fingerprint(self) -> str:
        """Changes whenever a step or a setting changes (recorded with each finished shard)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PipelineConfig:
    name: str
    path: str
    stages: tuple[StageSpec, ...] = field(default_factory=tuple)

    def stage(self, name: str) -> StageSpec:
        for s in self.stages:
            if s.name == name:
                return s
        raise ConfigError(f"{self.path}: pipeline {self.name!r} has no stage {name!r} (it has: {', '.join(self.stage_names) or 'none'})")

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]


class _YamlLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. YAML 1.1 also reads on/off/yes/no as booleans, which
    would turn a key like ``on:`` (exact_dedup's setting) into ``True``."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_step(entry: Any, where: str) -> tuple[str, type[PipelineStep], StepParams]:
    steps = load_all_steps()
    if isinstance(entry, str):
        entry = {entry: {}}
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ConfigError(f"{where}: a step must be a one-key mapping like `- language: {{languages: [en]}}`, got {entry!r}")
    (name, raw), = entry.items()
    if name not in steps:
        raise ConfigError(f"{where}: unknown step {name!r}{_suggest(name, list(steps))}; known steps: {', '.join(sorted(steps))}")
    cls = steps[name]
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} {name!r}: settings must be a mapping, got {raw!r}")
    try:
        params = cls.Params(**raw)
    except ValidationError as e:
        problems = []
        fields = list(cls.Params.model_fields)
        for err in e.errors():
            key = ".".join(str(x) for x in err["loc"]) or "?"
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown key {key!r}{_suggest(key, fields)} (valid keys: {', '.join(fields)})")
            else:
                problems.append(f"key {key!r}: {err['msg']} (got {err.get('input')!r})")
        raise ConfigError(f"{where} {name!r}: " + "; ".join(problems)) from None
    return name, cls, params


def load_pipeline(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline file."""
    path = str(path)
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ConfigError(f"pipeline file not found: {path}") from None
    try:
        doc = yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping with 'name' and 'stages'")
    unknown = set(doc) - {"name", "description", "stages"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {sorted(unknown)}; allowed: name, description, stages")
    stages_raw = doc.get("stages")
    if not isinstance(stages_raw, dict) or not stages_raw:
        raise ConfigError(f"{path}: 'stages' must map stage names ({', '.join(STAGE_KINDS)}) to lists of steps")
    order = [s for s in stages_raw]
    for s in order:
        if s not in STAGE_KINDS:
            raise ConfigError(f"{path}: unknown stage {s!r}{_suggest(s, list(STAGE_KINDS))}; stages are {', '.join(STAGE_KINDS)}")
    if order != sorted(order, key=STAGE_KINDS.index):
        raise ConfigError(f"{path}: stages must come in the order {', '.join(STAGE_KINDS)}; got {', '.join(order)}")
    stages = []
    for stage_name, entries in stages_raw.items():
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: stage {stage_name!r} must be a list of steps")
        specs: list[StepSpec] = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries, 1):
            name, cls, params = parse_step(entry, f"{path}: stage {stage_name!r}, step {i}")
            seen[name] = seen.get(name, 0) + 1
            label = name if seen[name] == 1 else f"{name}#{seen[name]}"
            specs.append(StepSpec(name, label, params))
        if stage_name == "extract" and (not specs or specs[0].name != "warc_reader"):
            raise ConfigError(f"{path}: stage 'extract' must begin with the step `warc_reader`")
        stages.append(StageSpec(stage_name, tuple(specs)))
    return PipelineConfig(name=str(doc.get("name", Path(path).stem)), path=path, stages=tuple(stages))


def stage_from_dict(name: str, steps: list[dict[str, Any]]) -> StageSpec:
    """Rebuild a stage from ``StageSpec.to_dict`` output (how a stage travels to Ray workers)."""
    specs, seen = [], {}
    for i, entry in enumerate(steps, 1):
        step_name, _, params = parse_step(entry, f"stage {name!r}, step {i}")
        seen[step_name] = seen.get(step_name, 0) + 1
        specs.append(StepSpec(step_name, step_name if seen[step_name] == 1 else f"{step_name}#{seen[step_name]}", params))
    return StageSpec(name, tuple(specs))
