"""Results on disk as they arrive: one JSON line per item, a Parquet copy at the end.

``results.jsonl`` is appended to (and flushed to disk) as each result arrives,
so a sweep stopped at any point keeps every finished item; the next run reads
the keys already there and skips them.  A line cut short by a crash is dropped
when the store is reopened.  Items that raised go to ``errors.jsonl`` and are
retried by the next run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zoverify._errors import ZoverifyError

RESULTS, ERRORS, PARQUET = "results.jsonl", "errors.jsonl", "results.parquet"


class ResultStore:
    """The results of one output folder."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / RESULTS

    def prepare(self) -> None:
        """Create the folder, prove it writable and drop a torn last line."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = self.folder / ".write-probe"
            probe.write_text("")
            probe.unlink()
            self.path.touch()
        except OSError as exc:
            raise ZoverifyError(
                f"output folder {str(self.folder)!r} is not writable: {exc.strerror or exc}; "
                "accepted: a folder you can create and write"
            ) from None
        _drop_torn_tail(self.path)

    def rows(self) -> list[dict[str, Any]]:
        """Every stored row (the last one per key)."""
        by_key: dict[str, dict[str, Any]] = {}
        for row in _read_lines(self.path):
            by_key[row["key"]] = row
        return list(by_key.values())

    def done_keys(self) -> set[str]:
        """Keys of the items with a stored result."""
        return {row["key"] for row in _read_lines(self.path)}

    def append(self, row: dict[str, Any]) -> None:
        """Store one result (flushed to disk before returning)."""
        _append_line(self.path, row)

    def append_error(self, row: dict[str, Any]) -> None:
        """Record an item that raised; it is not marked done."""
        _append_line(self.folder / ERRORS, row)

    def write_parquet(self) -> Path:
        """A columnar copy of the results (nested fields as JSON text)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        flat = [
            {k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()}
            for row in sorted(self.rows(), key=lambda r: r["key"])
        ]
        path = self.folder / PARQUET
        pq.write_table(pa.Table.from_pylist(flat), path)
        return path


def _append_line(path: Path, row: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _read_lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.endswith("\n"):  # a line without its newline was cut short
                yield json.loads(line)


def _drop_torn_tail(path: Path) -> None:
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as fh:
            fh.truncate(data.rfind(b"\n") + 1)
