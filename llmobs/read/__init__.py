"""The reader: paths in, columns and honest input accounting out.

    from llmobs.read import load
    data = load(["traces/", "old.jsonl.gz"])

The pipeline is `load.py`: sources (`sources.py`) → native decoding, the models judging what it is
unsure of (`decode.py`, `judge.py`) → columns (`columns.py`) → merge (`merge.py`) → settle
(`settle.py`). `records.py` gives whole validated records instead, for export and trace.
"""

from llmobs.read.load import Dataset, load
from llmobs.read.records import iter_records, load_records
from llmobs.read.stats import BadLine, InputStats

__all__ = ["BadLine", "Dataset", "InputStats", "iter_records", "load", "load_records"]
