"""Which reader reads a run's input, and whether the input holds what the run's steps read.

A run whose first stage begins with a reader (``extract: - warc_reader``) reads ``--input`` with
it. A run that starts past extraction (``--stages filter,...``, ``--stages dedup``) with
``--input`` reads it with the reader the pipeline file names under ``input:``, else with the
reader whose file names fit the input files (``curation.registry.reader_for``); a crawl id then
means the crawl's WET files. WARC and ARC pages need extraction, so they start at the extract stage.

Before any work, the first input file is asked which document fields it fills (``ReaderStep.fields``):
a field a step of the run reads (``PipelineStep.needs``) that the input lacks stops the run in one
line naming the field, the file and the step.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from curation.config import PipelineConfig, StageSpec, StepSpec
from curation.errors import InputError
from curation.io.sources import CRAWL_ID, resolve_inputs
from curation.registry import reader_for, reader_suffixes, step_class
from curation.step import ReaderStep


@dataclass(frozen=True)
class RunInput:
    reader: StepSpec  # the reader of the input files
    files: list[str]
    added: bool  # the run adds the reader (the first stage has none of its own)


def _reader_class(spec: StepSpec) -> type[ReaderStep]:
    cls = step_class(spec.name)
    assert issubclass(cls, ReaderStep)
    return cls


def _wrong_kind(reader: type[ReaderStep], files: list[str], problem: str) -> InputError | None:
    """When ``files`` are another reader's (by name): an error saying what they are and what to do."""
    if not files or any(reader.accepts(f) for f in files):
        return None
    others = Counter(reader_for(f) for f in files)
    if None in others:
        return None
    hint = ", ".join(f"{n} {name} file(s)" for name, n in others.items())
    if reader.html:
        return InputError(f"{problem}; it holds {hint}: documents, not crawl files: start past extraction (--stages filter,dedup,tokenize)")
    return InputError(f"{problem}; it holds {hint}: name their reader under `input:` in the pipeline file")


def _resolve(spec: str, limit: int | None, reader: type[ReaderStep]) -> list[str]:
    try:
        files = resolve_inputs(spec, limit, reader.suffixes, reader.crawl_listing or "warc.paths.gz")
    except InputError as e:
        if not str(e).startswith("no "):
            raise
        try:
            others = resolve_inputs(spec, None, reader_suffixes())
        except InputError:
            raise e from None
        raise (_wrong_kind(reader, others, str(e)) or e) from None
    wrong = _wrong_kind(reader, files, f"{spec} is not what {reader.name} reads")
    if wrong is not None:
        raise wrong
    return files


def plan_input(config: PipelineConfig, first: StageSpec, spec: str | None, limit: int | None = None) -> RunInput | None:
    """The reader and files of a run whose first stage is ``first`` (None: it reads the stage before)."""
    head = first.steps[0]
    if step_class(head.name).kind == "reader":
        if not spec:
            raise InputError(f"the {first.name} stage reads input files: give --input (files, a folder, a glob, s3://, https:// or a crawl id)")
        return RunInput(head, _resolve(spec, limit, _reader_class(head)), added=False)
    if not spec:
        return None
    if config.input is not None:
        reader = config.input
    elif CRAWL_ID.match(spec):
        reader = StepSpec("wet_reader", "wet_reader", step_class("wet_reader").Params())
    else:
        found = resolve_inputs(spec, None, reader_suffixes())
        by_reader = Counter(reader_for(f) for f in found)
        if None in by_reader:
            raise InputError(f"cannot tell which reader reads {next(f for f in found if reader_for(f) is None)}: name one under `input:` in {config.path}")
        if len(by_reader) > 1:
            mix = ", ".join(f"{n} for {name}" for name, n in by_reader.most_common())
            raise InputError(f"{spec} holds files of several kinds ({mix}): point --input at one kind, or name the reader under `input:` in {config.path}")
        (name,) = by_reader
        reader = StepSpec(name, name, step_class(name).Params())
        _no_html(spec, reader)
        return RunInput(reader, found[:limit] if limit else found, added=True)
    _no_html(spec, reader)
    return RunInput(reader, _resolve(spec, limit, _reader_class(reader)), added=True)


def _no_html(spec: str, reader: StepSpec) -> None:
    """WARC and ARC pages need extraction: such input starts at the extract stage."""
    if _reader_class(reader).html:
        raise InputError(f"{spec}: {reader.name} reads web pages that need extraction: start at the extract stage (--stages extract,...)")


def check_fields(run_input: RunInput, stages: list[StageSpec]) -> None:
    """Stop before any work when the input lacks a field a step of the run reads (asked of the first
    input file that opens: the files of one dataset share their fields; a file that differs fails
    its own shard)."""
    reader = run_input.reader.build()
    assert isinstance(reader, ReaderStep)
    fields = first = None
    for first in run_input.files[:3]:  # the first file that opens
        try:
            fields = reader.fields(first)
            break
        except Exception:  # noqa: BLE001 - an unreadable file fails its own shard, with its own message
            continue
    if fields is None:
        return
    for stage in stages:
        for spec in stage.steps:
            step = spec.build() if step_class(spec.name).kind != "reader" else None
            for field in step.needs() if step is not None else ():
                if field in fields:
                    continue
                key = f"{field}_key"
                mapped = f" ({key}: {getattr(reader.params, key)!r})" if hasattr(reader.params, key) else ""
                raise InputError(f"{first} has no {field} field{mapped}, which step {spec.label!r} of stage {stage.name!r} needs; "
                                 f"name the field that holds it under `input: {{{reader.name}: {{{key}: ...}}}}`")
