"""Statistics merge exactly, whatever the order in which shards finish."""

from __future__ import annotations

import itertools
import json

from curation.document import Document
from curation.stats import SAMPLE_SIZE, StageStats, StepStats


def shard_stats(seed: int) -> StepStats:
    st = StepStats("gopher_quality", bins={"n_words": (0, 1000, 10)})
    for i in range(seed * 50, seed * 50 + 50):
        st.docs_in += 1
        if i % 3:
            st.docs_out += 1
        else:
            st.drop(Document(id=f"<urn:uuid:{i}>", text="t" * i, url=f"http://x/{i}"), "gopher_short_doc" if i % 2 else "gopher_below_alpha_threshold")
        st.observe("n_words", i * 7 % 1100)
    return st


def merged(order) -> dict:
    total = StageStats("filter")
    for seed in order:
        total.merge(StageStats("filter", steps=[shard_stats(seed)], shards=1))
    return total.to_dict()


def test_merge_is_independent_of_order_and_round_trips_through_json():
    results = [merged(order) for order in itertools.permutations(range(4))]
    assert all(r == results[0] for r in results)
    step = results[0]["steps"][0]
    assert step["docs_in"] == 200 and step["docs_out"] + sum(step["dropped"].values()) == 200
    assert sum(step["histograms"]["n_words"]["counts"]) == 200
    assert all(len(v) == SAMPLE_SIZE for v in step["samples"].values())
    again = StageStats.from_dict(json.loads(json.dumps(results[0])))
    assert again.to_dict() == results[0]


def test_sample_keeps_the_same_documents_as_one_big_shard():
    one = StepStats("x")
    for seed in range(4):
        for i in range(seed * 50, seed * 50 + 50):
            if not i % 3:
                one.drop(Document(id=f"<urn:uuid:{i}>", text="t" * i, url=f"http://x/{i}"), "gopher_short_doc" if i % 2 else "gopher_below_alpha_threshold")
    many = StageStats.from_dict(merged(range(4))).steps[0]
    assert one.samples == many.samples


def test_documents_sharing_an_id_are_sampled_once_and_merge():
    """Ids come from the input and need not be unique (a dataset numbering the rows of each file)."""
    from curation.document import Document

    a, b = StepStats("s"), StepStats("s")
    for st in (a, b):
        st.drop(Document(id="0", text="one"), "r")
        st.drop(Document(id="0", text="two"), "r")
    a.merge(b)
    assert a.dropped["r"] == 4 and [s["id"] for s in a.samples["r"]] == ["0"]
