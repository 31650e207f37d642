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

How a document stage writes can be set for the whole pipeline and per stage (a stage written as a
mapping holds its list under ``steps``)::

    output_format: jsonl.gz    # parquet (default) or jsonl.gz, for every document stage
    input:                     # the reader of a run that starts past extraction (default: by file name)
      parquet_reader: {text_key: content}
    stages:
      filter:
        keep_rejected: true    # write every dropped document, with its step and reason, to OUTPUT/filter/rejected/
        steps:
          - language: {languages: [en]}
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
from curation.io.shards import DEFAULT_FORMAT, FORMATS, check_format
from curation.registry import FILE_STAGES, READERS, STAGES, STEPS, stage_order_rule, step_class
from curation.step import PipelineStep, StepParams

STAGE_OPTIONS = ("output_format", "keep_rejected")  # how a document stage writes: per pipeline, per stage
TOP_LEVEL_KEYS = ("name", "description", "input", "stages", *STAGE_OPTIONS)


def step_label(name: str, use: int) -> str:
    """The label of the ``use``-th (1-based) use of step ``name`` in a stage: the name, then ``name#2`` ..."""
    return name if use == 1 else f"{name}#{use}"


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
    output_format: str = DEFAULT_FORMAT  # the format of the stage's shards (curation.io.shards)
    keep_rejected: bool = False  # write the documents the stage drops to OUTPUT/<stage>/rejected/

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.steps]

    def options(self) -> dict[str, Any]:
        """The stage's write settings that differ from the defaults."""
        found: dict[str, Any] = {}
        if self.output_format != DEFAULT_FORMAT:
            found["output_format"] = self.output_format
        if self.keep_rejected:
            found["keep_rejected"] = True
        return found

    def to_wire(self) -> dict[str, Any]:
        """The stage as it travels to a worker (``stage_from_dict`` rebuilds it)."""
        return {"steps": self.to_dict(), **self.options()}

    def build_steps(self) -> tuple[PipelineStep, ...]:
        return tuple(s.build() for s in self.steps)

    def fingerprint(self) -> str:
        """Changes whenever a step, a setting or how the stage writes changes (recorded with each
        finished shard). A stage written with the defaults keeps the fingerprint it always had."""
        payload: Any = self.to_wire() if self.options() else self.to_dict()
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PipelineConfig:
    name: str
    path: str
    stages: tuple[StageSpec, ...] = field(default_factory=tuple)
    input: StepSpec | None = None  # the reader named under `input:` (None: chosen by file name)
    output_format: str = DEFAULT_FORMAT  # of stages the run adds itself (read)

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


def _stage_options(raw: dict[str, Any], defaults: dict[str, Any], where: str) -> dict[str, Any]:
    """``output_format`` and ``keep_rejected`` of a stage (or of the pipeline), checked."""
    options = dict(defaults)
    for key in STAGE_OPTIONS:
        if key not in raw:
            continue
        value = raw[key]
        if key == "output_format":
            if not isinstance(value, str):
                raise ConfigError(f"{where}: output_format must be one of {', '.join(FORMATS)}, got {value!r}")
            options[key] = check_format(value, f"{where}: output_format")
        elif not isinstance(value, bool):
            raise ConfigError(f"{where}: keep_rejected must be true or false, got {value!r}")
        else:
            options[key] = value
    return options


def _stage_entries(stage_name: str, raw: Any, path: str) -> tuple[list[Any], dict[str, Any]]:
    """A stage's list of steps and its own write settings: a stage is a list of steps, or a mapping
    with ``steps`` and any of ``output_format`` / ``keep_rejected``."""
    if isinstance(raw, list):
        return raw, {}
    if isinstance(raw, dict):
        unknown = set(raw) - {"steps", *STAGE_OPTIONS}
        if unknown:
            raise ConfigError(f"{path}: stage {stage_name!r}: unknown key(s) {sorted(unknown)}; a stage mapping holds steps, {', '.join(STAGE_OPTIONS)}")
        if not isinstance(raw.get("steps"), list):
            raise ConfigError(f"{path}: stage {stage_name!r}: 'steps' must be a list of steps")
        options = {k: raw[k] for k in STAGE_OPTIONS if k in raw}
        if options and not STAGES[stage_name].documents:
            raise ConfigError(f"{path}: stage {stage_name!r} writes no document shards: {', '.join(options)} apply to document stages only")
        return raw["steps"], options
    raise ConfigError(f"{path}: stage {stage_name!r} must be a list of steps (or a mapping with 'steps')")


def parse_input(entry: Any, where: str) -> StepSpec:
    """The `input:` key: one reader step, as a one-key mapping (or a list holding one)."""
    if isinstance(entry, list) and len(entry) == 1:
        entry = entry[0]
    name, cls, params = parse_step(entry, where)
    if cls.kind != "reader":
        raise ConfigError(f"{where}: {name!r} is a {cls.kind} step; input: takes one reader ({', '.join(READERS)})")
    return StepSpec(name, name, params)


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
    unknown = set(doc) - set(TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {sorted(unknown)}; allowed: {', '.join(TOP_LEVEL_KEYS)}")
    stages_raw = doc.get("stages")
    if not isinstance(stages_raw, dict) or not stages_raw:
        raise ConfigError(f"{path}: 'stages' must map stage names ({', '.join(FILE_STAGES)}) to lists of steps")
    order = [s for s in stages_raw]
    for s in order:
        if s in STAGES and not STAGES[s].in_files:
            raise ConfigError(f"{path}: stage {s!r} is added by a run that starts at a whole stage with --input; name its reader under `input:`")
        if s not in FILE_STAGES:
            raise ConfigError(f"{path}: unknown stage {s!r}{_suggest(s, list(FILE_STAGES))}; stages are {', '.join(FILE_STAGES)}")
    if order != sorted(order, key=lambda s: STAGES[s].rank):
        raise ConfigError(f"{path}: stages must come in this order: {stage_order_rule()}; got {', '.join(order)}")
    defaults = _stage_options(doc, {"output_format": DEFAULT_FORMAT, "keep_rejected": False}, path)
    input_spec = parse_input(doc["input"], f"{path}: input") if doc.get("input") is not None else None
    stages = []
    for stage_name, raw in stages_raw.items():
        entries, own = _stage_entries(stage_name, raw, path)
        options = _stage_options(own, defaults, f"{path}: stage {stage_name!r}") if STAGES[stage_name].documents else {}
        specs: list[StepSpec] = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries, 1):
            where = f"{path}: stage {stage_name!r}, step {i}"
            name, cls, params = parse_step(entry, where)
            check_step_kind(stage_name, i, name, cls, where)
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1 and cls.kind == "stage":
                raise ConfigError(f"{where}: {name!r} is listed twice; a whole-stage step runs once per stage")
            specs.append(StepSpec(name, step_label(name, seen[name]), params))
        if not specs:
            raise ConfigError(f"{path}: stage {stage_name!r} has no step")
        if stage_name == "extract" and step_class(specs[0].name).kind != "reader":
            raise ConfigError(f"{path}: stage 'extract' must begin with a reader such as `warc_reader` (it reads the input files)")
        stages.append(StageSpec(stage_name, tuple(specs), **options))
    config = PipelineConfig(name=str(doc.get("name", Path(path).stem)), path=path, stages=tuple(stages), input=input_spec,
                            output_format=defaults["output_format"])
    built = {s.name: list(s.build_steps()) for s in config.stages}
    for steps in built.values():
        for step in steps:
            try:
                step.check_pipeline(built)
            except ConfigError as e:
                raise ConfigError(f"{path}: {e}") from None
    return config


def stage_from_dict(name: str, stage: list[dict[str, Any]] | dict[str, Any]) -> StageSpec:
    """Rebuild a stage from ``StageSpec.to_wire`` (or ``to_dict``) output (how a stage travels to workers)."""
    steps, options = (stage["steps"], {k: stage[k] for k in STAGE_OPTIONS if k in stage}) if isinstance(stage, dict) else (stage, {})
    specs, seen = [], {}
    for i, entry in enumerate(steps, 1):
        step_name, _, params = parse_step(entry, f"stage {name!r}, step {i}")
        seen[step_name] = seen.get(step_name, 0) + 1
        specs.append(StepSpec(step_name, step_label(step_name, seen[step_name]), params))
    return StageSpec(name, tuple(specs), **options)
