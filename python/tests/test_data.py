"""The corpus reader (eqinfo.data): every line is checked, and a truncated or damaged .jsonl.gz is
refused with its name instead of being read as a shorter corpus."""
import gzip
import json
import zlib

import pytest

from eqinfo import data
from eqinfo.m1.model_card import write_val_subset

LINES = [json.dumps({"text": f"document {i}", "source": "s"}) + "\n" for i in range(120)]


def _gzip_flushed(lines):
    """One gzip member with a full flush after each line, and the compressed length after each:
    a file cut at cuts[k] inflates to exactly lines[:k + 1], ending at a line boundary."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + 15)
    out, cuts = b"", []
    for line in lines:
        out += z.compress(line.encode()) + z.flush(zlib.Z_FULL_FLUSH)
        cuts.append(len(out))
    return out + z.flush(), cuts


def test_a_good_file_reads_every_document_and_split(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(gzip.compress("".join(LINES).encode()))
    assert list(data.iter_documents(path)) == [f"document {i}" for i in range(120)]
    assert list(data.iter_documents(path, "val")) == ["document 0", "document 50", "document 100"]
    assert [r["source"] for r in data.iter_records(path, "val")] == ["s"] * 3


@pytest.mark.parametrize("damage", ["line_boundary", "no_trailer", "bad_crc", "garbage"])
def test_a_truncated_or_damaged_gzip_corpus_is_refused(tmp_path, damage):
    good, cuts = _gzip_flushed(LINES)
    bad = {"line_boundary": good[:cuts[59]],
           "no_trailer": good[:-8],
           "bad_crc": good[:-8] + bytes([good[-8] ^ 1]) + good[-7:],
           "garbage": good + b"\x1f\x8b garbage"}[damage]
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(bad)
    for split in ("all", "train", "val"):
        with pytest.raises(ValueError, match=rf"^{path}: truncated or damaged corpus file \("):
            list(data.iter_documents(path, split))


def test_the_model_cards_validation_subset_reads_through_the_checked_reader(tmp_path):
    good, cuts = _gzip_flushed(LINES)
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(good[:cuts[59]])
    with pytest.raises(ValueError, match="truncated or damaged corpus file"):
        write_val_subset(path, 10**6, tmp_path / "val.jsonl")
    path.write_bytes(good)
    subset = write_val_subset(path, 10**6, tmp_path / "val.jsonl")
    assert subset["documents"] == 3 and subset["sources"] == ["s"]


@pytest.mark.parametrize("line", ['{"text": 7}', '{"txt": "a"}', '["text"]', '{"text": "a"', ""])
def test_a_bad_line_is_refused_with_its_file_and_line(tmp_path, line):
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(gzip.compress((LINES[0] + line + "\n" + LINES[1]).encode()))
    why = "empty line" if not line else 'not a JSON object with a string field "text"'
    if "txt" in line:  # a missing field names the fields there are and the flag
        why += r" \(it has txt: --text-field names another field\)"
    with pytest.raises(ValueError, match=f"^{path}:2: {why}$"):
        list(data.iter_documents(path))
