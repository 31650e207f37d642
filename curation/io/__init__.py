"""Reading inputs (local, s3://, https://, Common Crawl crawl ids) and writing shards atomically."""
