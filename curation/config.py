"""Pipeline files: the ordered stages and steps of a run, validated before any work starts.

    name: fineweb
    stages:
      extract:                 # WARC files -> documents
        - warc_reader: {}
        - url_filter: {}
        - trafilatura: {favour_precision: true, cpu_timeout: 20.0}
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
from curation.registry import STAGE_ORDER, STAGES, STEPS, step_class
from curation.step import PipelineStep, StepParams


@dataclass(frozen=True)
class StepSpec:
    name: str  # registered step name
    label: str  # unique in its stage: the name, or name#2 for a second use
    params: StepParams

    def build(self) -> PipelineStep:
        return step_class(self.name)(self.params, self.label)

    def to_dict(self) -> dict[str, Any]:
        return {self.name: self.params.model_dump(mode="json")}


@dataclass(frozen=True)
class StageSpec:
    name: str
    steps: tuple[StepSpec, ...]

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.steps]

    def build_steps(self) -> tuple[PipelineStep, ...]:
        return tuple(s.build() for s in self.steps)

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
    """A pipeline file's step entry -> (name, class, validated settings)."""
    if isinstance(entry, str):
        entry = {entry: {}}
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ConfigError(f"{where}: a step must be a one-key mapping like `- language: {{languages: [en]}}`, got {entry!r}")
    (name, raw), = entry.items()
    try:
        cls = step_class(name)
    except KeyError:
        raise ConfigError(f"{where}: unknown step {name!r}{_suggest(name, list(STEPS))}; known steps: {', '.join(sorted(STEPS))}") from None
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


def _whole_stage_steps(stage: str) -> list[str]:
    """The registered whole-stage steps of ``stage`` (imports their modules: used in error messages only)."""
    found = []
    for name in STEPS:
        cls = step_class(name)
        if cls.kind == "stage" and cls.stage == stage:
            found.append(name)
    return found


def check_step_kind(stage: str, position: int, name: str, cls: type[PipelineStep], where: str) -> None:
    """A step may only stand where its kind runs: readers first, document steps in per-shard stages,
    whole-stage steps in their own stage."""
    kind = STAGES[stage]
    if cls.kind == "stage" and cls.stage != stage:
        raise ConfigError(f"{where}: {name!r} works on every shard of stage {cls.stage!r} at once and cannot run in stage {stage!r}; move it under `{cls.stage}:`")
    if cls.kind not in kind.accepts:
        if kind.per_shard:
            raise ConfigError(f"{where}: stage {stage!r} takes readers and document steps; {name!r} is a {cls.kind} step")
        per_shard = [s for s, k in STAGES.items() if k.per_shard]
        raise ConfigError(
            f"{where}: stage {stage!r} takes only its whole-stage steps ({', '.join(_whole_stage_steps(stage))}); "
            f"{name!r} is a {cls.kind} step: put it in {' or '.join(repr(s) for s in per_shard)}"
        )
    if cls.kind == "reader" and position != 1:
        raise ConfigError(f"{where}: {name!r} is a reader: it can only be the first step of a stage")


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
        raise ConfigError(f"{path}: 'stages' must map stage names ({', '.join(STAGE_ORDER)}) to lists of steps")
    order = [s for s in stages_raw]
    for s in order:
        if s not in STAGES:
            raise ConfigError(f"{path}: unknown stage {s!r}{_suggest(s, list(STAGE_ORDER))}; stages are {', '.join(STAGE_ORDER)}")
    if order != sorted(order, key=STAGE_ORDER.index):
        raise ConfigError(f"{path}: stages must come in the order {', '.join(STAGE_ORDER)}; got {', '.join(order)}")
    stages = []
    for stage_name, entries in stages_raw.items():
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: stage {stage_name!r} must be a list of steps")
        specs: list[StepSpec] = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries, 1):
            where = f"{path}: stage {stage_name!r}, step {i}"
            name, cls, params = parse_step(entry, where)
            check_step_kind(stage_name, i, name, cls, where)
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1 and cls.kind == "stage":
                raise ConfigError(f"{where}: {name!r} is listed twice; a whole-stage step runs once per stage")
            label = name if seen[name] == 1 else f"{name}#{seen[name]}"
            specs.append(StepSpec(name, label, params))
        if not specs:
            raise ConfigError(f"{path}: stage {stage_name!r} has no step")
        if stage_name == "extract" and step_class(specs[0].name).kind != "reader":
            raise ConfigError(f"{path}: stage 'extract' must begin with a reader such as `warc_reader` (it reads the input files)")
        stages.append(StageSpec(stage_name, tuple(specs)))
    config = PipelineConfig(name=str(doc.get("name", Path(path).stem)), path=path, stages=tuple(stages))
    built = {s.name: list(s.build_steps()) for s in config.stages}
    for steps in built.values():
        for step in steps:
            try:
                step.check_pipeline(built)
            except ConfigError as e:
                raise ConfigError(f"{path}: {e}") from None
    return config


def stage_from_dict(name: str, steps: list[dict[str, Any]]) -> StageSpec:
    """Rebuild a stage from ``StageSpec.to_dict`` output (how a stage travels to Ray workers)."""
    specs, seen = [], {}
    for i, entry in enumerate(steps, 1):
        step_name, _, params = parse_step(entry, f"stage {name!r}, step {i}")
        seen[step_name] = seen.get(step_name, 0) + 1
        specs.append(StepSpec(step_name, step_name if seen[step_name] == 1 else f"{step_name}#{seen[step_name]}", params))
    return StageSpec(name, tuple(specs))
