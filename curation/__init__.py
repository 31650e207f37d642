"""Web-scale pretraining data curation: WARC -> clean, de-duplicated, tokenized Parquet shards."""

__version__ = "0.1.0"
