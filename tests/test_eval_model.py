"""`curation eval-model`: a checkpoint on held-out documents with two rulers. The held-out documents
are the val split's own, rebuilt from the shards; the last word and its context are the documents'
own tokens; exact match is all or nothing and the log-probability gives partial credit; the command
prints both rulers and agrees with what training recorded."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

torch = pytest.importorskip("torch", reason="the trainer needs torch (make install-trainer)")

from curation.cli import main as cli  # noqa: E402
from curation.tokenization.split import is_val  # noqa: E402
from curation.tokenization.tokenizer import encode, load_tokenizer  # noqa: E402
from curation.tokens import load_manifest  # noqa: E402
from curation.trainer.heldout import LastWord, heldout_documents, last_word_examples, score_last_words  # noqa: E402
from curation.trainer.train import parse_args, train  # noqa: E402

STEPS = 20


@pytest.fixture(scope="module")
def trained(trainer_tokens, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("eval_model_run")
    args = parse_args(["--data", str(trainer_tokens), "--out", str(out), "--model", "tiny", "--steps", str(STEPS), "--batch-size", "8",
                       "--lr", "3e-3", "--warmup-steps", "2", "--log-interval", "5", "--eval-interval", "10", "--eval-batches", "4",
                       "--ckpt-interval", str(STEPS), "--device", "cpu", "--seed", "2"])
    return out, train(args)


def val_document_tokens(trainer_tokens: Path) -> set[tuple[int, ...]]:
    """The tokens of every document the tokenize stage held out, encoded again from the dedup output."""
    manifest = load_manifest(str(trainer_tokens))
    texts = []
    for shard in sorted((trainer_tokens.parent / "dedup" / "shards").glob("*.parquet")):
        t = pq.read_table(shard, columns=["id", "text"])
        rows = zip(t.column("id").to_pylist(), t.column("text").to_pylist(), strict=True)
        texts += [x for i, x in rows if x and is_val(i, manifest["val_fraction"])]
    return {tuple(ids) for ids in encode(texts)}


@pytest.mark.ray
def test_heldout_documents_are_the_val_splits_documents(trainer_tokens):
    manifest = load_manifest(str(trainer_tokens))
    docs = heldout_documents(str(trainer_tokens), manifest, 1000)
    assert len(docs) >= 5
    assert all(int(d[0]) == manifest["eos_id"] for d in docs)  # each starts at its EOS
    assert {tuple(d[1:].tolist()) for d in docs} <= val_document_tokens(trainer_tokens)  # whole documents, never pieces
    assert [d.tolist() for d in heldout_documents(str(trainer_tokens), manifest, 3)] == [d.tolist() for d in docs[:3]]


@pytest.mark.ray
def test_last_word_is_the_documents_final_word_in_its_own_tokens(trainer_tokens):
    manifest = load_manifest(str(trainer_tokens))
    docs = heldout_documents(str(trainer_tokens), manifest, 1000)
    examples, skipped = last_word_examples(docs, "gpt2", seq_len=32)
    assert examples and sum(skipped.values()) + len(examples) == len(docs)
    tok = load_tokenizer("gpt2")
    by_context = {tuple(d.tolist()): d for d in docs}
    for e in examples:
        target = tok.decode(e.target.tolist())
        assert target.strip() == e.word and re.fullmatch(r" ?[^\W\d_]+", target)
        assert len(e.context) + len(e.target) <= 32  # fits the model's context
        # the context and the word are consecutive tokens of one held-out document ...
        doc = next(d for d in by_context.values() if any(
            np.array_equal(d[i : i + len(e.context) + len(e.target)], np.concatenate([e.context, e.target])) for i in range(len(d))))
        text = tok.decode(doc[1:].tolist())
        # ... and the word is that document's last: nothing but punctuation and spaces follows it
        assert re.search(rf"{re.escape(e.word)}[^\w]*\Z", text)


def test_exact_match_is_all_or_nothing_and_log_probability_gives_partial_credit():
    """An oracle that knows the next token after 5 and after 6 but not after 7: the word [6, 7] of the
    first example is guessed whole, the word [7, 8] of the second only half."""

    class Oracle(torch.nn.Module):
        config = type("Config", (), {"vocab_size": 10})()

        def __init__(self):
            super().__init__()
            self.lm_head = torch.nn.Linear(10, 10, bias=False)
            torch.nn.init.eye_(self.lm_head.weight)
            self.next = torch.tensor([0, 0, 0, 0, 0, 6, 7, 9, 0, 0])  # token -> its likely successor

        def hidden_states(self, idx):
            return 20.0 * torch.nn.functional.one_hot(self.next[idx], 10).float()

    examples = [LastWord(np.array([1, 5]), np.array([6, 7]), "a"), LastWord(np.array([1, 6]), np.array([7, 8]), "b")]
    r = score_last_words(Oracle(), examples, torch.autocast("cpu", enabled=False), torch.device("cpu"), batch_size=2)
    assert r["last_word_documents"] == 2 and r["last_word_exact"] == 0.5
    sure = math.log(math.exp(20) / (math.exp(20) + 9))  # log-probability of the predicted token
    wrong = math.log(1 / (math.exp(20) + 9))  # of any other
    assert r["last_word_logprob"] == pytest.approx(((sure + sure) + (sure + wrong)) / 2)


@pytest.mark.ray
def test_eval_model_prints_both_rulers_and_agrees_with_training(trained, trainer_tokens, capsys):
    out, summary = trained
    assert cli(["eval-model", str(out), "--data", str(trainer_tokens), "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "validation loss:" in text and "perplexity" in text
    assert "exact match (greedy, all or nothing)" in text and "mean log-probability (partial credit)" in text
    # the same 4 batches of 8 sequences and the same held-out documents as training's last evaluation
    assert cli(["eval-model", str(out), "--data", str(trainer_tokens), "--device", "cpu", "--batches", "4", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    last = [h for h in summary["history"] if "val_loss" in h][-1]
    assert r["val_loss"] == pytest.approx(last["val_loss"], rel=1e-6) and r["perplexity"] == pytest.approx(math.exp(r["val_loss"]))
    assert r["last_word_documents"] == last["last_word_documents"] > 0
    assert r["last_word_exact"] == last["last_word_exact"] and r["last_word_logprob"] == pytest.approx(last["last_word_logprob"], rel=1e-6)
    # both rulers over steps in metrics.jsonl: one evaluation every 10 steps
    evals = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if "val_loss" in line]
    assert [e["step"] for e in evals] == [10, 20]
    assert all(e["last_word_logprob"] < 0 and 0 <= e["last_word_exact"] <= 1 for e in evals)


@pytest.mark.ray
def test_eval_model_refuses_tokens_of_another_tokenizer(trained, trainer_tokens, tmp_path, capsys):
    out, _ = trained
    data = tmp_path / "tokens"
    data.mkdir()
    manifest = json.loads((trainer_tokens / "manifest.json").read_text())
    manifest["tokenizer"]["sha256"] = "0" * 64
    (data / "manifest.json").write_text(json.dumps(manifest))
    assert cli(["eval-model", str(out), "--data", str(data), "--device", "cpu"]) == 2
    assert "another" in capsys.readouterr().err
