"""A Map state in DISTRIBUTED mode: its own fields read and checked (ProcessorConfig, Label,
ItemBatcher; ItemReader and ResultWriter name Amazon S3, which this engine does not reach, and
are refused saying so), and its items grouped into the batches its children run (ItemBatcher).

The items come from the state's input, as an inline Map's do (ItemsPath, or Items in JSONata);
each item (or batch) runs as a child execution of its own, in a map run (the host's).
"""

from __future__ import annotations

import json
from itertools import chain
from typing import Any

from .definition import DistributedMap
from .errors import RUNTIME, StatesError
from .jsonata_query import expression_errors
from .state_reader import StateReader, positive_int
from .templates import template_errors

READER_REFUSED = (
    "ItemReader reads a Distributed Map's items from Amazon S3, which this engine does not "
    "reach: give the items in the state's input (ItemsPath, or Items with JSONata)"
)
WRITER_REFUSED = (
    "ResultWriter writes a Distributed Map's results to Amazon S3, which this engine does not "
    "reach: the results are the state's output (ResultSelector, ResultPath and OutputPath apply)"
)
_BATCHER_FIELDS = {"MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"}
_BATCHER_PATHS = ("MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath")
# What a Label may not hold (it is part of the map run's and the children's ARNs).
_LABEL_REFUSED = set(' ?*<>{}[]:;,\\|^~$#%&`"/') | {
    chr(i) for i in chain(range(0x00, 0x20), range(0x7F, 0xA0))
}
LABEL_MAX = 40
MAX_BYTES = 262_144  # a child execution's input, at most


def s3_refuse(reader: StateReader) -> None:
    """ItemReader and ResultWriter, refused first (whatever else the Map holds), saying why."""
    if "ItemReader" in reader.raw:
        raise reader.fail("ItemReader", READER_REFUSED)
    if "ResultWriter" in reader.raw:
        raise reader.fail("ResultWriter", WRITER_REFUSED)


def distributed_read(reader: StateReader, config: dict, key: str) -> DistributedMap | None:
    """The Map's distributed fields, None for an inline Map (where they are refused). `config`
    is the ItemProcessor's ProcessorConfig, `key` ItemProcessor (or Iterator)."""
    raw = reader.raw
    mode = config.get("Mode", "INLINE")
    if mode not in ("INLINE", "DISTRIBUTED"):
        raise reader.fail(f"{key}.ProcessorConfig.Mode", "must be INLINE or DISTRIBUTED")
    if mode == "INLINE":
        for field in ("ItemBatcher", "Label"):
            if field in raw:
                raise reader.fail(field, "is a field of a distributed Map (Mode DISTRIBUTED)")
        if "ExecutionType" in config:
            message = "is a field of a distributed Map (Mode DISTRIBUTED)"
            raise reader.fail(f"{key}.ProcessorConfig.ExecutionType", message)
        return None
    execution_type = config.get("ExecutionType", "STANDARD")
    if execution_type not in ("STANDARD", "EXPRESS"):
        message = "must be STANDARD or EXPRESS"
        raise reader.fail(f"{key}.ProcessorConfig.ExecutionType", message)
    label = raw.get("Label")
    if label is not None:
        if not isinstance(label, str) or not 0 < len(label) <= LABEL_MAX:
            raise reader.fail("Label", f"must be a string of 1 to {LABEL_MAX} characters")
        refused = sorted(set(label) & _LABEL_REFUSED)
        if refused:
            raise reader.fail("Label", f"must not contain {json.dumps(refused[0])}")
    return DistributedMap(label=label, execution_type=execution_type, **_batcher(reader))


def _batcher(reader: StateReader) -> dict[str, Any]:
    if "ItemBatcher" not in reader.raw:
        return {}
    batcher = reader.raw["ItemBatcher"]
    if not isinstance(batcher, dict):
        raise reader.fail("ItemBatcher", "must be an object")
    for name in _BATCHER_PATHS:
        if name in batcher:
            message = "is not supported here: give the bound as a number"
            raise reader.fail(f"ItemBatcher.{name}", message)
    reader.fields_check("ItemBatcher", batcher, _BATCHER_FIELDS)
    items = batcher.get("MaxItemsPerBatch")
    size = batcher.get("MaxInputBytesPerBatch")
    if items is None and size is None:
        message = "needs MaxItemsPerBatch or MaxInputBytesPerBatch (or both)"
        raise reader.fail("ItemBatcher", message)
    if items is not None and not positive_int(items, 100_000_000):
        raise reader.fail("ItemBatcher.MaxItemsPerBatch", "must be a positive integer")
    if size is not None and not positive_int(size, MAX_BYTES):
        message = f"must be an integer between 1 and {MAX_BYTES}"
        raise reader.fail("ItemBatcher.MaxInputBytesPerBatch", message)
    batch_input = batcher.get("BatchInput")
    if "BatchInput" in batcher:
        if not isinstance(batch_input, dict):
            raise reader.fail("ItemBatcher.BatchInput", "must be an object")
        where = "ItemBatcher.BatchInput"
        check = expression_errors if reader.jsonata else template_errors
        for field_name, message in check(batch_input, where):
            raise reader.fail(field_name, message)
    return {
        "max_items_per_batch": items,
        "max_input_bytes_per_batch": size,
        "batched": True,
        "batch_input": batch_input,
    }


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def batches_make(
    distributed: DistributedMap, items: list[Any], batch_input: Any
) -> tuple[list[Any], list[int]]:
    """The children's inputs, `{"Items": [...], "BatchInput": ...}` (BatchInput only when the
    state has one), each at most MaxItemsPerBatch items and MaxInputBytesPerBatch bytes of JSON,
    in item order; and how many items each holds. An item too large for a batch of its own is
    States.Runtime."""
    most_items = distributed.max_items_per_batch or len(items) or 1
    most_bytes = distributed.max_input_bytes_per_batch
    base = _size({"Items": []})
    if batch_input is not None:
        base += _size(batch_input) + len(',"BatchInput":')
    groups: list[list[Any]] = []
    size = 0
    for index, item in enumerate(items):
        item_size = _size(item)
        if most_bytes is not None and base + item_size > most_bytes:
            raise StatesError(
                RUNTIME,
                f"The item at index {index} ({item_size} bytes of JSON) does not fit in a batch "
                f"of MaxInputBytesPerBatch {most_bytes} bytes",
            )
        fits = groups and len(groups[-1]) < most_items
        if fits and most_bytes is not None:
            fits = size + 1 + item_size <= most_bytes
        if fits:
            groups[-1].append(item)
            size += 1 + item_size
        else:
            groups.append([item])
            size = base + item_size
    extra = {} if batch_input is None else {"BatchInput": batch_input}
    return [{"Items": group, **extra} for group in groups], [len(group) for group in groups]
