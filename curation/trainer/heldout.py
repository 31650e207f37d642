"""A model on held-out documents (the val split), with two rulers: an all-or-nothing one and a
partial-credit one.

    curation eval-model CHECKPOINT --data OUTPUT/tokenize

- validation loss (mean cross-entropy per token, nats) and perplexity (its exponential), over the
  val split's sequences;
- the last word of each held-out document, given everything before it (LAMBADA's task, Paperno
  et al. 2016, on our own documents): **exact match**, whether greedy decoding produces exactly
  the word (all or nothing), and the **mean log-probability** of the word (partial credit).
  A model improving steadily shows it in the log-probability long before the exact match jumps.

Held-out documents are rebuilt from the val shards: each row's ``doc_starts`` marks where a
document (its EOS) begins, so a document is the stream between two consecutive starts (a shard's
last document is cut by the dropped partial row, except with ``last_sequence: pad``). The last
word is the document's final run of letters, followed by nothing but punctuation and spaces; with
GPT-2's byte-level BPE it is one pre-token (its leading space included), so its tokens and those
of the context are exactly the document's own. The tokenizer decodes only the documents evaluated.
Building this task needs the tokenizer library; where it is missing (a bare GPU image) the trainer
reports validation loss and perplexity alone and says why.

``curation train`` runs both rulers at every evaluation, so metrics.jsonl has their curves over steps.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from curation.errors import CurationError
from curation.io.fs import join
from curation.tokens import load_manifest, open_parquet, row_group_array
from curation.trainer import EVAL_DOCUMENTS

MIN_CONTEXT_TOKENS = 16  # a word guessed from almost no context measures little: such documents are left out


@dataclass(frozen=True)
class LastWord:
    context: np.ndarray  # the document's tokens before the word, from its EOS
    target: np.ndarray  # the word's tokens (its leading space included)
    word: str


def heldout_documents(data_dir: str, manifest: dict[str, Any], limit: int) -> list[np.ndarray]:
    """The first ``limit`` complete documents of the val split, each as its tokens from its EOS on."""
    width = int(manifest["sequence_tokens"])
    padded = manifest.get("last_sequence") == "pad"
    docs: list[np.ndarray] = []
    for shard in manifest["splits"]["val"]["shards"]:
        pieces, starts, data_tokens = [], [], 0
        with contextlib.ExitStack() as stack:
            pf = open_parquet(join(data_dir, shard["path"]), stack)
            for g in range(pf.num_row_groups):
                table = pf.read_row_group(g, columns=["tokens", "doc_starts", "num_tokens"], use_threads=False)
                rows = row_group_array(table)
                col = table.column("doc_starts").combine_chunks()
                offsets = col.offsets.to_numpy()
                row_of = np.repeat(np.arange(len(rows)), np.diff(offsets))  # the row each start belongs to
                starts.append(data_tokens + row_of * width + col.values.to_numpy().astype(np.int64))
                pieces.append(rows.reshape(-1))
                data_tokens += int(table.column("num_tokens").to_numpy().sum())  # only a shard's last row can be short
                if sum(len(s) for s in starts) > limit - len(docs):
                    break  # enough documents begin here (the last one is complete once the next starts)
            read_all = g == pf.num_row_groups - 1
        if not pieces:
            continue
        stream, bounds = np.concatenate(pieces), np.concatenate(starts)
        if padded and read_all:
            bounds = np.append(bounds, data_tokens)  # a padded shard keeps its last document whole
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            docs.append(stream[a:b])
            if len(docs) == limit:
                return docs
    return docs


def last_word_span(text: str) -> tuple[int, int] | None:
    """(start, end) of the text's final run of letters, when only punctuation and spaces follow it.

    Letters are ``str.isalpha`` (Unicode's L categories, as GPT-2's ``\\p{L}``); scanned from the end,
    so a document of any length costs the length of its tail.
    """
    end = len(text)
    while end and not (text[end - 1].isalnum() or text[end - 1] == "_"):
        end -= 1
    start = end
    while start and text[start - 1].isalpha():
        start -= 1
    if start == end or (start and (text[start - 1].isalnum() or text[start - 1] == "_")):
        return None  # ends with a digit or underscore, or the run of letters is glued to one
    return start, end


def last_word_examples(docs: list[np.ndarray], tokenizer_name: str, seq_len: int) -> tuple[list[LastWord], dict[str, int]]:
    """The last-word task of each document that has one; counts of documents left out, by reason."""
    from curation.tokenization.tokenizer import load_tokenizer  # the tokenizer library: only where the task is built

    tok = load_tokenizer(tokenizer_name)
    skipped = {"no_final_word": 0, "short_context": 0, "not_token_aligned": 0}
    examples = []
    for doc in docs:
        ids = doc[1:].tolist()  # after the document's EOS
        text = tok.decode(ids, skip_special_tokens=False)
        span = last_word_span(text)
        if span is None:
            skipped["no_final_word"] += 1
            continue
        word_start, word_end = span
        start = word_start - (1 if word_start > 0 and text[word_start - 1] == " " else 0)  # GPT-2 joins one space to a word
        context_ids, target_ids = (e.ids for e in tok.encode_batch([text[:start], text[start:word_end]], add_special_tokens=False))
        n = len(context_ids)
        if context_ids + target_ids != ids[: n + len(target_ids)] or not target_ids:
            skipped["not_token_aligned"] += 1  # the word is not whole tokens of the document (another tokenizer)
            continue
        if n < MIN_CONTEXT_TOKENS or len(target_ids) >= seq_len:
            skipped["short_context"] += 1
            continue
        context = doc[: 1 + n][-(seq_len - len(target_ids)) :]  # the nearest context that fits the model
        examples.append(LastWord(context, np.asarray(target_ids, dtype=doc.dtype), text[word_start:word_end]))
    return examples, skipped


def load_last_word_task(data_dir: str, manifest: dict[str, Any], documents: int, seq_len: int) -> tuple[list[LastWord], str]:
    """The task on the first ``documents`` held-out documents, and a line saying what it holds (or why there is none)."""
    if documents <= 0:
        return [], "last-word ruler off (--eval-documents 0)"
    docs = heldout_documents(data_dir, manifest, documents)
    if not docs:
        return [], "no last-word ruler: the val split has no complete document"
    try:
        examples, skipped = last_word_examples(docs, manifest["tokenizer"]["name"], seq_len)
    except ImportError as e:  # a GPU image without the tokenizer library
        return [], f"no last-word ruler: it needs the tokenizer ({e}); validation loss and perplexity only"
    except CurationError as e:
        return [], f"no last-word ruler: {e}"
    left_out = ", ".join(f"{k} {v}" for k, v in skipped.items() if v)
    note = f"last-word ruler: {len(examples)} of {len(docs)} held-out documents"
    return examples, note + (f" (left out: {left_out})" if left_out else "")


# ----------------------------------------------------------------------------------------------
# The rulers


@torch.no_grad()
def validation_loss(model: torch.nn.Module, loader, batches: int, autocast, device: torch.device,
                    world: int = 1) -> tuple[float | None, int]:
    """(mean loss per token, sequences) over ``batches`` batches per process (0: the whole split), the same ones every time."""
    was_training = model.training
    model.eval()
    loader.reset()
    total = torch.zeros(2, dtype=torch.float64, device=device)  # (sum of per-sequence mean losses, sequences)
    for _, (x, y) in zip(range(batches) if batches else itertools.count(), loader):  # noqa: B905 (the shorter ends it)
        with autocast:
            _, loss = model(x, y)
        total += torch.stack([loss.double() * x.size(0), torch.tensor(float(x.size(0)), dtype=torch.float64, device=device)])
    loader.close()
    if world > 1:
        dist.all_reduce(total)
    model.train(was_training)
    n = int(total[1].item())
    return ((total[0] / total[1]).item() if n else None), n


@torch.no_grad()
def score_last_words(model: torch.nn.Module, examples: list[LastWord], autocast, device: torch.device, *, rank: int = 0, world: int = 1,
                     batch_size: int = 8) -> dict[str, Any]:
    """Exact match (greedy decoding gives the word) and mean log-probability of the word; each process
    scores every ``world``-th example and the sums are added up."""
    was_training = model.training
    model.eval()
    vocab = model.config.vocab_size
    sums = torch.zeros(3, dtype=torch.float64, device=device)  # (documents, exact matches, sum of log-probabilities)
    mine = examples[rank::world]
    for i in range(0, len(mine), batch_size):
        batch = mine[i : i + batch_size]
        seqs = [np.concatenate([e.context, e.target]) for e in batch]
        width = max(len(s) for s in seqs) - 1
        x = torch.zeros((len(batch), width), dtype=torch.long)
        for r, s in enumerate(seqs):  # right padding: a causal model never looks past a position
            x[r, : len(s) - 1] = torch.from_numpy(s[:-1].astype(np.int64))
        rows, cols, targets = [], [], []
        for r, e in enumerate(batch):
            first = len(e.context) - 1  # the position whose output predicts the word's first token
            for k, t in enumerate(e.target.tolist()):
                rows.append(r)
                cols.append(first + k)
                targets.append(t)
        with autocast:
            h = model.hidden_states(x.to(device))[torch.tensor(rows), torch.tensor(cols)]
            logits = model.lm_head(h)
        logp = F.log_softmax(logits.float()[:, :vocab], dim=-1)  # never a padding id
        t = torch.tensor(targets, device=device)
        token_logp = logp.gather(1, t[:, None])[:, 0]
        token_hit = logp.argmax(dim=-1) == t  # every token the greedy choice: greedy decoding writes the word
        owner_t = torch.tensor(rows, device=device)
        word_logp = torch.zeros(len(batch), dtype=torch.float64, device=device).index_add_(0, owner_t, token_logp.double())
        misses = torch.zeros(len(batch), dtype=torch.float64, device=device).index_add_(0, owner_t, (~token_hit).double())
        documents = torch.tensor(float(len(batch)), dtype=torch.float64, device=device)
        sums += torch.stack([documents, (misses == 0).double().sum(), word_logp.sum()])
    if world > 1:
        dist.all_reduce(sums)
    model.train(was_training)
    n = int(sums[0].item())
    return {"last_word_documents": n, "last_word_exact": sums[1].item() / n if n else None,
            "last_word_logprob": sums[2].item() / n if n else None}


# ----------------------------------------------------------------------------------------------
# The command


def evaluate_checkpoint(checkpoint: str, data: str, *, batch_size: int = 8, batches: int = 0, documents: int = EVAL_DOCUMENTS,
                        device: str = "auto") -> dict[str, Any]:
    """Both rulers for a checkpoint (file or training folder) on the val split of ``data``."""
    from curation.trainer.data import TokenLoader
    from curation.trainer.sample import load_model, resolve_device

    manifest = load_manifest(data)
    device = torch.device(resolve_device(device))
    model, trained_on = load_model(checkpoint, device)
    if trained_on["tokenizer"]["sha256"] != manifest["tokenizer"]["sha256"]:
        raise CurationError(f"{checkpoint} was trained on tokens of tokenizer {trained_on['tokenizer']['name']!r}, "
                            f"{data} holds tokens of another ({manifest['tokenizer']['name']!r})")
    if manifest["seq_len"] > model.config.seq_len:
        raise CurationError(f"{data} has {manifest['seq_len']}-token sequences, longer than the model's context ({model.config.seq_len})")
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    result: dict[str, Any] = {"checkpoint": checkpoint, "data": data, "knowledge_cutoff": trained_on.get("knowledge_cutoff")}
    val_sequences = manifest["splits"]["val"]["sequences"]
    if val_sequences:
        loader = TokenLoader(data, "val", min(batch_size, val_sequences), device=device, shuffle=False, cycle=False, manifest=manifest,
                             drop_last=False)
        loss, n = validation_loss(model, loader, batches, autocast, device)
        result.update(val_loss=loss, perplexity=math.exp(loss) if loss is not None else None, val_sequences=n,
                      val_tokens=n * manifest["seq_len"])
    else:
        result.update(val_loss=None, perplexity=None, val_sequences=0, val_tokens=0)
    examples, note = load_last_word_task(data, manifest, documents, model.config.seq_len)
    result.update(score_last_words(model, examples, autocast, device), last_word_note=note)
    return result


def format_result(r: dict[str, Any]) -> str:
    lines = [f"held-out: the val split of {r['data']} ({r['val_sequences']:,} sequences, {r['val_tokens']:,} tokens)"]
    if r.get("knowledge_cutoff"):
        lines.append(f"knowledge cut-off of the model: {r['knowledge_cutoff']} (its newest training document)")
    if r["val_loss"] is None:
        lines.append("validation loss: - (the val split holds no sequence)")
    else:
        lines.append(f"validation loss: {r['val_loss']:.4f} nats per token; perplexity {r['perplexity']:,.1f}")
    lines.append(r["last_word_note"])
    if r["last_word_documents"]:
        n, exact, logp = r["last_word_documents"], r["last_word_exact"], r["last_word_logprob"]
        lines.append(f"last word, exact match (greedy, all or nothing): {100 * exact:.1f}% ({round(exact * n)} of {n} documents)")
        lines.append(f"last word, mean log-probability (partial credit): {logp:.3f} nats (geometric-mean probability {math.exp(logp):.3g})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """What ``curation eval-model`` calls (see ``curation.trainer.add_eval_model_arguments``)."""
    r = evaluate_checkpoint(args.checkpoint, args.data, batch_size=args.batch_size, batches=args.batches, documents=args.documents,
                            device=args.device)
    print(json.dumps(r, indent=1) if args.json else format_result(r))
    return 0


def main(argv: list[str] | None = None) -> int:
    from curation.trainer import add_eval_model_arguments

    parser = argparse.ArgumentParser(prog="python -m curation.trainer.heldout", description=__doc__.split("\n")[0])
    add_eval_model_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except CurationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
