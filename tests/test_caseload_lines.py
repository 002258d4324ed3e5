"""A JSONL caseload is split into lines by the reader and made into items by a worker.

The reader tells a blank line (left out, never a case) without decoding it
where it can; it must tell it exactly as making the item does, or cases
would be numbered differently with `--jobs` than without.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.caseload import (
    Item,
    Lines,
    _blank,
    _jsonl_item,
    chunk_items,
    chunk_size,
    read_caseload,
    read_chunks,
)

_PIECES = [
    b" ", b"\t", b"\r", b"\n", b"\x0b", b"\x0c", b"\x1c", b"\x1f", b"\xef\xbb\xbf",
    "\u2028".encode(), "\xa0".encode(), "\x85".encode(), "\u3000".encode(),
    b"{", b"}", b"x", b"\xff", b"\xc3", b"\x00", "\u200b".encode(),
]


@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=6), number=st.sampled_from([1, 2]))
@settings(max_examples=400, deadline=None)
def test_a_blank_line_is_told_as_making_its_item_tells_it(
    pieces: list[bytes], number: int
) -> None:
    raw = b"".join(pieces) + b"\n"
    assert _blank(number, raw) == (_jsonl_item("f", 0, number, raw) is None)


@pytest.mark.parametrize(
    ("raw", "blank"),
    [
        (b"\n", True),
        (b"  \t\r\n", True),
        (b"\x1c\x1d\n", True),  # str.strip() strips these too
        ("\u2028\xa0\n".encode(), True),
        (b"\xef\xbb\xbf\n", True),  # a byte order mark alone, on line 1
        (b"{}\n", False),
        (b"\xff\n", False),  # not UTF-8: a case, refused with a message
        ("\u200b\n".encode(), False),  # not white space to str.strip()
    ],
)
def test_blank_lines(raw: bytes, blank: bool) -> None:
    assert _blank(1, raw) is blank


def _jsonl(tmp_path: Path, lines: list[bytes]) -> Path:
    path = tmp_path / "caseload.jsonl"
    path.write_bytes(b"".join(lines))
    return path


def test_chunks_hold_the_items_read_one_by_one(tmp_path: Path) -> None:
    lines = [b"\xef\xbb\xbf" + b'{"case": "a", "events": []}\r\n', b"\n", b"   \n",
             b'{"case": "b", "events": []}\n', b"\xff\xfe\n", "\u2028\n".encode(),
             b"not json\n", b'{"case": "c", "events": []}']
    path = _jsonl(tmp_path, lines)
    one_by_one = list(read_caseload(path))
    for size in (1, 2, 3, 128):
        chunks = list(read_chunks(path, size=size))
        assert all(isinstance(chunk, Lines) for chunk in chunks)
        assert [len(chunk_items(c)) for c in chunks][:-1] == [size] * (len(chunks) - 1)
        items: list[Item] = [item for chunk in chunks for item in chunk_items(chunk)]
        assert items == one_by_one
        assert sum(map(chunk_size, chunks)) == sum(item.size for item in one_by_one)
    assert [(item.seq, item.line, item.default_name) for item in one_by_one] == [
        (0, 1, "line-1"), (1, 4, "line-4"), (2, 5, "line-5"), (3, 7, "line-7"),
        (4, 8, "line-8"),
    ]
    assert one_by_one[2].early_error[0].message == "byte 0xff is not UTF-8; save the file as UTF-8"


def test_a_csv_caseload_comes_in_lists_of_items(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("case,on,type\na,2019-03-04,invite_letter\nb,2019-03-05,invite_letter\n")
    chunks = list(read_chunks(path, size=1))
    assert [type(chunk) for chunk in chunks] == [list, list]
    assert [item for chunk in chunks for item in chunk_items(chunk)] == list(read_caseload(path))


def test_a_line_too_long_to_be_a_case_is_not_sent_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("auditor.caseload.MAX_BYTES", 40)
    lines = [b'{"case": "a", "events": []}\n',
             b'{"case": "' + b"x" * 60 + b'", "events": []}\n',  # too long: refused
             ' {"case": "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", "events": []}\n'.encode(),
             b" " * 60 + b"\n",  # blank, however long
             b'{"case": "b", "events": []}\n']
    path = _jsonl(tmp_path, lines)
    one_by_one = list(read_caseload(path))
    chunks = list(read_chunks(path, size=2))
    assert [item for chunk in chunks for item in chunk_items(chunk)] == one_by_one
    assert sum(map(chunk_size, chunks)) == sum(item.size for item in one_by_one)
    sent = [raw for chunk in chunks if isinstance(chunk, Lines) for raw in chunk.raws]
    assert [isinstance(raw, Item) for raw in sent] == [False, True, True, False]
    assert one_by_one[1].payload == "" and "at most 40" in one_by_one[1].early_error[0].message
    # More bytes than the limit, but not more characters: a case, read as before.
    assert one_by_one[2].payload.strip().startswith('{"case": "\u00e9') and not one_by_one[2].early_error
