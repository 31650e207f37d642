"""The tokenize stage: documents -> globally shuffled, packed token sequences in Parquet, ready to stream.

Modules, in the order a document meets them: ``step`` (the settings in a pipeline file),
``tokenizer`` (loading a tokenizer: light, needs only ``tokenizers``, so sampling from a trained
model runs on a GPU image), ``split`` (which split and shuffle position a document gets),
``parts`` (phase 1: tokenize one input shard into intermediate files sorted by key), ``pack``
(phase 2: one key range of a split, packed into rows, written as one shard), ``manifest`` (what
the output holds), ``driver`` (the stage runner: schedules both phases), ``export`` (``.bin`` files).

Pipeline file::

    tokenize:
      - tokenize: {tokenizer: gpt2, seq_len: 1024, val_fraction: 0.01, seed: 0}

Output (``OUTPUT/tokenize``)::

    train/part-00000.parquet ...   training sequences
    val/part-00000.parquet ...     held-out sequences (documents chosen by a hash of their id)
    manifest.json                  tokenizer, layout, seed, per-shard counts and sha256, date range
    _done/*.json                   completion markers (the statistics ``curation stats`` shows)
    _work/                         intermediate token files (deleted once the stage is complete)

Layout of a shard (one row per sequence; every row group converts to a NumPy array without copying)::

    tokens       fixed_size_list<uint16 not null>[seq_len + 1] not null   (uint32 when the vocabulary
                                                                           has more than 65,536 ids)
    doc_starts   list<uint16 not null> not null   positions in ``tokens`` where a document begins,
                                                  i.e. of the EOS that precedes it (int32 when
                                                  seq_len + 1 > 65,535)
    num_tokens   int32 not null                   tokens of the row that are data: seq_len + 1, except
                                                  the padded last row of a shard (last_sequence: pad)

    >>> f = pq.ParquetFile("train/part-00000.parquet")
    >>> rows = f.read_row_group(0, columns=["tokens"]).column(0).chunk(0)   # a row group is one chunk
    >>> x = rows.values.to_numpy().reshape(-1, seq_len + 1)   # zero-copy view of the decoded buffer

    (``combine_chunks()`` in place of ``chunk(0)`` works too, but copies the row group once.)

The token stream is ``EOS doc EOS doc ...``: every document is preceded by the EOS token (GPT-2's
``<|endoftext|>``, id 50256), as in GPT-2, llm.c and modded-nanogpt, and the stream is cut into
non-overlapping rows of ``seq_len + 1`` tokens (inputs ``row[:-1]``, targets ``row[1:]``);
documents run on across rows. Each shard's last, partial row is dropped (``last_sequence: drop``,
the default: every row is full of data, at most ``seq_len`` tokens lost per shard) or padded with
EOS up to the full length and its ``num_tokens`` set (``last_sequence: pad``).

Global shuffle, in two phases of tasks:

1. one task per input shard tokenizes its documents (``encode_batch``, tokenizer loaded once per
   worker process) and gives each a 64-bit key, a seeded hash of its id. It writes, per split, one
   intermediate file with the documents sorted by key, and a table of where each of the 2^16 key
   bins (the key's top 16 bits) begins.
2. once every input shard is done, the driver knows the exact token count of each split and
   cuts the key space into ``N = ceil(tokens / (shard_sequences * (seq_len + 1)))`` ranges of
   bins. One task per range reads that range from every intermediate file (byte ranges only),
   orders the documents by key, packs them and writes one output shard.

The output is thus the documents sorted by a seeded hash of their id, cut into shards of contiguous
key ranges: every shard is a uniform random sample of the whole split, documents appear in random
order within a shard, and a task holds in memory only about one shard's tokens. The result depends
only on the input and the settings, never on the number of workers or on the order tasks finish;
the same input and seed give byte-identical shards and manifest.

Validation split: a document is held out when a hash of its id (independent of ``seed``, so
changing the shuffle seed never moves a document between splits) falls below
``val_fraction * 2^64``.

Restarts: phase-1 markers ``_done/tokenize-<input shard>.json`` and phase-2 markers
``_done/pack-<split>-<index>.json``; a rerun redoes only what lacks a marker (or its file), phase 2
is redone as a whole when the set of input shards or a packing setting changed, and ``--force``
starts over. Changing the tokenizer, seed or val_fraction needs ``--force``. Once complete, ``_work``
is deleted (``keep_work: true`` keeps it); a later rerun that has to repack re-tokenizes then.

Statistics (``curation stats``): one step, ``tokenize``. Phase-1 markers count documents and
characters in and the documents dropped as ``empty`` (no token); phase-2 markers count documents
and characters out, documents lost whole with a dropped last row (``last_partial_sequence``), and
the counters ``sequences``, ``tokens`` (stored, padding included) and per split.
"""

from __future__ import annotations
