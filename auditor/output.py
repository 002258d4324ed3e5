"""Writing results: atomically, never over the input, the same bytes for the same input."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from auditor.errors import InputError


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def refuse_overwriting(output: Path, *inputs: Path) -> None:
    """An output that is one of the inputs would destroy the evidence: refuse it."""
    for source in inputs:
        try:
            same = output.exists() and source.exists() and output.samefile(source)
        except OSError:
            same = False
        if same or output.resolve() == source.resolve():
            raise InputError.single(
                str(output), "is the input file; choose another output path", field="-o"
            )


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write to a temporary file beside ``path``, then rename it into place."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
