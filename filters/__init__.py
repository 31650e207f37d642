"""Document filters and formatters: FineWeb's, taking datatrove 0.10.1's decisions, faster.

One module per filter family; ``curation.registry`` names each step:

- ``url_filter`` (filters/url.py): UT1 blocklist and banned words in the URL;
- ``language`` (filters/language.py): fastText lid.176;
- ``gopher_repetition``, ``gopher_quality`` (filters/gopher.py);
- ``c4_quality`` (filters/c4.py): rewrites the text with the kept lines;
- ``fineweb_quality`` (filters/fineweb.py);
- ``pii_formatter`` (filters/pii.py): replaces emails and public IPs;
- ``ftfy``, ``symbol_lines`` (filters/formatters.py): FineWeb-2's text repairs.

``filters/fineweb2/`` holds FineWeb-2's per-language configs, the lid.176 -> FineWeb-2 code map and
the word tokenizers per language; the language, Gopher and FineWeb filters use them with
``per_language: fineweb2`` (pipelines/fineweb2.yaml).

Heavy resources (blocklist, fastText model, spaCy tokenizer) load on first use, once per process
(``functools.cache`` loaders; their ``cache_info()`` counts the loads). ``filters/words.py``
splits words exactly as datatrove's spaCy tokenizer does, with a per-process cache.
``bench/datatrove_filters.py`` (datatrove's filters set up offline) and ``bench/real_texts.py`` (real
texts from the shared data) serve the tests and ``bench/bench_filters.py`` only.
"""
