"""Writing results: atomically, never over the input, the same bytes for the same input."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from auditor.errors import InputError


def to_json(data: Any) -> str:
    """The audit as JSON text: plain data only, UTF-8, one trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def refuse_overwriting(output: Path, *inputs: Path | None) -> None:
    """Refuse an output path that is one of the inputs, or a folder.

    Writing the report over the case file would destroy the evidence, so the
    same file under another name (a symbolic or hard link) is refused too.
    Raises `InputError` (exit status 2) naming ``-o``.
    """
    if output.is_dir():
        raise InputError.single(
            str(output), "is a folder; give the path of the report file to write", field="-o"
        )
    for source in inputs:
        if source is None:
            continue
        try:
            same = output.exists() and source.exists() and output.samefile(source)
        except OSError:
            same = False
        if same or output.resolve() == source.resolve():
            raise InputError.single(
                str(output),
                f"is the input file {source}; choose another output path",
                field="-o",
            )


def _mode_for(path: Path) -> int:
    """The permissions a new file would get: an existing file's, else 0o666 less the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write ``content`` to ``path`` so that a reader sees the old file or the new, never half.

    The bytes go to a temporary file beside ``path``, are flushed to disk, and
    the file is renamed into place; on any failure the temporary file is removed
    and ``path`` is left as it was.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates the file 0600; a report is an ordinary file.
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
