"""The local blob store: files land under its folder, and no key or URI can leave it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaintrack.errors import InvalidArgumentError, StoreError
from chaintrack.store.blobs import LocalBlobStore, safe_segment


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("secret")
    return folder


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_put_and_read_back(root: Path, tmp_path: Path) -> None:
    blobs = LocalBlobStore(root)
    uri = blobs.put_bytes("task/media/a b/1.png", b"\x89PNG")
    assert uri.startswith("file://")
    assert blobs.local_path(uri) == root / "task/media/a b/1.png"
    with blobs.open(uri) as f:
        assert f.read() == b"\x89PNG"
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    uri2 = blobs.put_file("task/models/model.bin", source)
    assert blobs.local_path(uri2).read_bytes() == b"weights"
    # Overwriting a key replaces the blob and leaves no temporary file behind.
    blobs.put_bytes("task/media/a b/1.png", b"new")
    assert blobs.local_path(uri).read_bytes() == b"new"
    assert files_under(root) == {"task/media/a b/1.png", "task/models/model.bin"}


@pytest.mark.parametrize(
    "key",
    [
        "../escape.txt",
        "a/../../escape.txt",
        "a/..",
        "..",
        ".",
        "a/./b",
        "a\\..\\..\\escape.txt",
        "/etc/passwd",
        "//server/share/x",
        "\\windows\\x",
        "C:/Windows/x",
        "c:x",
        "a\0b",
        "",
        "/",
    ],
)
def test_keys_that_could_leave_the_folder_are_refused(root: Path, outside: Path, key: str) -> None:
    blobs = LocalBlobStore(root)
    with pytest.raises(InvalidArgumentError, match="blob key"):
        blobs.put_bytes(key, b"x")
    with pytest.raises(InvalidArgumentError, match="blob key"):
        blobs.put_file(key, outside / "secret.txt")
    assert files_under(root) == set()
    assert files_under(outside) == {"secret.txt"}


def test_a_symlinked_folder_pointing_outside_is_refused(root: Path, outside: Path) -> None:
    (root / "task").mkdir()
    (root / "task" / "media").symlink_to(outside)
    blobs = LocalBlobStore(root)
    with pytest.raises(InvalidArgumentError, match="leaves the store's folder"):
        blobs.put_bytes("task/media/x.png", b"x")
    assert files_under(outside) == {"secret.txt"}


def test_a_symlinked_file_pointing_outside_is_not_overwritten(root: Path, outside: Path) -> None:
    (root / "a.txt").symlink_to(outside / "secret.txt")
    blobs = LocalBlobStore(root)
    with pytest.raises(InvalidArgumentError, match="leaves the store's folder"):
        blobs.put_bytes("a.txt", b"overwritten?")
    assert (outside / "secret.txt").read_text() == "secret"


def test_a_symlink_inside_the_folder_is_followed(root: Path) -> None:
    (root / "real").mkdir()
    (root / "alias").symlink_to(root / "real")
    blobs = LocalBlobStore(root)
    uri = blobs.put_bytes("alias/x.txt", b"ok")
    assert (root / "real" / "x.txt").read_bytes() == b"ok"
    assert blobs.local_path(uri) == root / "real" / "x.txt"


def test_a_root_reached_through_a_symlink_works(tmp_path: Path) -> None:
    real = tmp_path / "real-root"
    real.mkdir()
    link = tmp_path / "link-root"
    link.symlink_to(real)
    blobs = LocalBlobStore(link)
    uri = blobs.put_bytes("a/b.txt", b"ok")
    assert (real / "a" / "b.txt").read_bytes() == b"ok"
    assert blobs.local_path(uri).read_bytes() == b"ok"


@pytest.mark.parametrize(
    "uri",
    [
        "file:///etc/passwd",
        "FILES_ROOT/../outside/secret.txt",
        "FILES_ROOT/../outside/../outside/secret.txt",
        "FILES_ROOT/link/secret.txt",
    ],
)
def test_uris_outside_the_folder_are_refused(root: Path, outside: Path, uri: str) -> None:
    (root / "link").symlink_to(outside)
    blobs = LocalBlobStore(root)
    uri = uri.replace("FILES_ROOT", root.as_uri())
    with pytest.raises(StoreError, match="outside the store's folder"):
        blobs.local_path(uri)
    with pytest.raises(StoreError):
        blobs.open(uri)


def test_non_file_and_missing_uris_are_refused(root: Path) -> None:
    blobs = LocalBlobStore(root)
    with pytest.raises(StoreError, match="not a file:// URI"):
        blobs.local_path("s3://bucket/key")
    with pytest.raises(StoreError, match="missing"):
        blobs.local_path((root / "nope.bin").as_uri())


@given(st.text(max_size=300))
def test_safe_segment_is_one_harmless_path_segment(name: str) -> None:
    segment = safe_segment(name)
    assert segment
    assert len(segment) <= 200
    assert "/" not in segment and "\\" not in segment and "\0" not in segment
    assert segment not in (".", "..")
    assert os.path.basename(segment) == segment


@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=5))
def test_keys_of_safe_segments_always_stay_inside(parts: list[str]) -> None:
    # A fresh folder per example: tmp_path is function-scoped, Hypothesis runs many examples.
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        blobs = LocalBlobStore(Path(tmp))
        uri = blobs.put_bytes("/".join(safe_segment(p) for p in parts), b"x")
        assert blobs.local_path(uri).is_relative_to(Path(tmp).resolve())
