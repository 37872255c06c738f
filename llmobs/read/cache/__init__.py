"""The columnar cache: what was read from a log file, kept so a later run reads only what changed.

`store` keeps the entries (keys, manifests, locks, writes on a thread), `segment` is one file of
columns, `through` reads a file, or files read together, through the cache, `info` tells what it holds and keeps it within its
size. The reader (`read.load`) uses `Cache`, `read_through_cache` and `read_batch_through_cache`, and
`llmobs watch --from-start` `read_complete_lines`; nothing else of it needs more.
"""

from llmobs.read.cache.store import Cache, max_size
from llmobs.read.cache.through import BatchReader, read_batch_through_cache, read_complete_lines, read_through_cache

__all__ = ["BatchReader", "Cache", "max_size", "read_batch_through_cache", "read_complete_lines", "read_through_cache"]
