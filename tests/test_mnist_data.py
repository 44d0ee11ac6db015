"""The MNIST study's data loader (benchmarks/mnist/data.py) on damaged and scattered files.

Every IDX file here is written byte by byte after the format (two zero bytes,
the data type code 0x08 for unsigned bytes, the number of dimensions, then
each dimension as a big-endian uint32, then the data), so the expected sizes
and counts are computed independently of the loader.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torchvision

from benchmarks.mnist import data as data_mod
from benchmarks.mnist.__main__ import main

TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = data_mod.IDX_FILES


def idx_bytes(array: np.ndarray, *, type_code: int = 0x08, dims: tuple[int, ...] | None = None,
              magic_prefix: bytes = b"\x00\x00") -> bytes:
    """An IDX file's bytes; ``dims`` overrides the header's dimensions (not the data)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    dims = array.shape if dims is None else dims
    header = magic_prefix + bytes([type_code, len(dims)])
    return header + b"".join(struct.pack(">I", d) for d in dims) + array.tobytes()


def arrays(n_train: int = 40, n_test: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        TRAIN_IMAGES: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        TRAIN_LABELS: rng.integers(0, 10, n_train, dtype=np.uint8),
        TEST_IMAGES: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        TEST_LABELS: rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write(folder: Path, files: dict[str, bytes], compress: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, payload in files.items():
        if compress:
            with gzip.open(folder / (name + ".gz"), "wb") as f:
                f.write(payload)
        else:
            (folder / name).write_bytes(payload)


def good_files(seed: int = 0, **sizes: int) -> dict[str, bytes]:
    return {name: idx_bytes(a) for name, a in arrays(seed=seed, **sizes).items()}


def load(root: Path, **kwargs: object) -> data_mod.MNISTData:
    return data_mod.load_data("mnist", root, download=False, system_dirs=(), **kwargs)


@pytest.fixture()
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any download attempt fails the test (the loader must not try one here)."""

    def refuse(self: object) -> None:
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", refuse)


# --------------------------------------------------------------------------- 16: damaged files


def _images(n: int = 40) -> np.ndarray:
    return np.random.default_rng(5).integers(0, 256, (n, 28, 28), dtype=np.uint8)


# (what is wrong, the damaged train-images file, words the message must contain)
DAMAGED = {
    # the case: the header promises 4000 images, 127 and a half follow
    "truncated": (idx_bytes(_images(4000))[: 16 + 99984],
                  ["truncated", "4000 x 28 x 28", str(16 + 4000 * 784), str(16 + 99984)]),
    "longer than its header": (idx_bytes(_images()) + b"\x00" * 100,
                               ["longer than its header", str(16 + 40 * 784),
                                str(16 + 40 * 784 + 100)]),
    "not IDX": (b"PK\x03\x04" + idx_bytes(_images())[4:], ["not an IDX file", "504b0304"]),
    "float data": (idx_bytes(_images(), type_code=0x0D), ["data type 0x0d", "0x08"]),
    "labels instead of images": (idx_bytes(np.zeros(40)), ["1 dimension", "3"]),
    "wrong image size": (idx_bytes(np.zeros((10, 32, 32))), ["32 x 32", "28 x 28"]),
    "header cut": (idx_bytes(_images())[:10], ["10 bytes", "16-byte header"]),
    "empty": (b"", ["0 bytes"]),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_a_damaged_raw_file_is_named_with_what_is_wrong(tmp_path, case, no_download):
    payload, words = DAMAGED[case]
    raw = tmp_path / "MNIST" / "raw"
    write(raw, good_files() | {TRAIN_IMAGES: payload})
    with pytest.raises(data_mod.DataFileError) as info:
        load(tmp_path)
    msg = str(info.value)
    assert str(raw / TRAIN_IMAGES) in msg
    for word in words:
        assert word in msg, (word, msg)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("case", ["truncated", "float data"])
def test_a_damaged_gz_source_names_the_source_and_installs_no_copy(tmp_path, case, no_download):
    payload, words = DAMAGED[case]
    source = tmp_path / "source"
    write(source, good_files() | {TRAIN_IMAGES: payload}, compress=True)
    root = tmp_path / "root"
    with pytest.raises(data_mod.DataFileError) as info:
        load(root, idx_dir=source)
    msg = str(info.value)
    assert str(source / (TRAIN_IMAGES + ".gz")) in msg
    for word in words:
        assert word in msg, (word, msg)
    raw = root / "MNIST" / "raw"
    # nothing half-made stays behind to be picked up by the next run
    assert not raw.exists() or sorted(p.name for p in raw.iterdir()) == []


def test_a_gz_file_cut_short_names_the_source(tmp_path, no_download):
    source = tmp_path / "source"
    write(source, good_files(), compress=True)
    gz = source / (TEST_IMAGES + ".gz")
    gz.write_bytes(gz.read_bytes()[:-200])  # the compressed stream ends too early
    with pytest.raises(data_mod.DataFileError, match="cannot decompress") as info:
        load(tmp_path / "root", idx_dir=source)
    assert str(gz) in str(info.value)


def test_a_damaged_prepared_copy_says_where_it_came_from(tmp_path, no_download):
    source = tmp_path / "source"
    write(source, good_files(), compress=True)
    root = tmp_path / "root"
    load(root, idx_dir=source)
    copy = root / "MNIST" / "raw" / TEST_LABELS
    copy.write_bytes(copy.read_bytes()[:-3])  # damaged after it was prepared
    with pytest.raises(data_mod.DataFileError) as info:
        load(root)
    msg = str(info.value)
    assert str(copy) in msg and "truncated" in msg
    assert f"prepared from {source}" in msg


def test_cli_data_exits_2_naming_a_truncated_file(tmp_path, capsys, no_download):
    raw = tmp_path / "MNIST" / "raw"
    write(raw, good_files() | {TEST_IMAGES: idx_bytes(_images(20))[:-1]})
    status = main(["data", "--dataset", "mnist", "--data-root", str(tmp_path), "--no-download"])
    err = capsys.readouterr().err
    assert status == 2
    assert str(raw / TEST_IMAGES) in err and "truncated" in err


# --------------------------------------------------------------------------- 17: counts


@pytest.mark.parametrize(("images", "labels", "n_images", "n_labels"), [
    (TRAIN_IMAGES, TRAIN_LABELS, 40, 39),
    (TEST_IMAGES, TEST_LABELS, 20, 21),
])
def test_image_and_label_counts_must_agree(tmp_path, images, labels, n_images, n_labels,
                                           no_download):
    raw = tmp_path / "MNIST" / "raw"
    write(raw, good_files() | {labels: idx_bytes(np.ones(n_labels))})
    with pytest.raises(data_mod.DataFileError) as info:
        load(tmp_path)
    msg = str(info.value)
    assert f"{raw / images} holds {n_images} images" in msg
    assert f"{raw / labels} holds {n_labels} labels" in msg


def test_cli_data_refuses_differing_counts_before_any_training(tmp_path, capsys, no_download):
    raw = tmp_path / "MNIST" / "raw"
    write(raw, good_files() | {TRAIN_LABELS: idx_bytes(np.ones(39))})
    status = main(["data", "--dataset", "mnist", "--data-root", str(tmp_path), "--no-download"])
    err = capsys.readouterr().err
    assert status == 2
    assert "39 labels" in err and "40 images" in err


def test_labels_outside_the_ten_classes_are_refused(tmp_path, no_download):
    raw = tmp_path / "MNIST" / "raw"
    labels = np.zeros(20, dtype=np.uint8)
    labels[7] = 10
    write(raw, good_files() | {TEST_LABELS: idx_bytes(labels)})
    with pytest.raises(data_mod.DataFileError) as info:
        load(tmp_path)
    assert f"{raw / TEST_LABELS}: label 10 at index 7" in str(info.value)


# --------------------------------------------------------------------------- 18: --idx-dir wins


def test_an_explicit_idx_dir_replaces_copies_prepared_before(tmp_path, no_download):
    old, new = tmp_path / "old", tmp_path / "new"
    write(old, good_files(seed=1), compress=True)
    new_arrays = arrays(n_train=30, n_test=10, seed=2)
    write(new, {name: idx_bytes(a) for name, a in new_arrays.items()})
    root = tmp_path / "root"
    first = load(root, idx_dir=old)
    assert len(first.train_y) == 40 and first.source == str(old)
    second = load(root, idx_dir=new)
    assert second.source == str(new)
    assert second.train_y.tolist() == new_arrays[TRAIN_LABELS].tolist()
    assert second.test_y.tolist() == new_arrays[TEST_LABELS].tolist()
    raw = root / "MNIST" / "raw"
    for name, a in new_arrays.items():  # the copies are now the new files, byte for byte
        assert (raw / name).read_bytes() == idx_bytes(a)
    # without --idx-dir the prepared copies are used again, and their origin named
    again = load(root)
    assert again.source == str(new) and again.train_y.tolist() == second.train_y.tolist()


def test_an_idx_dir_that_lacks_files_stops_even_with_prepared_copies(tmp_path, no_download):
    raw = tmp_path / "MNIST" / "raw"
    write(raw, good_files(seed=1))
    partial = tmp_path / "partial"
    write(partial, {k: v for k, v in good_files(seed=2).items() if k != TRAIN_LABELS})
    with pytest.raises(data_mod.DataNotFoundError) as info:
        load(tmp_path, idx_dir=partial)
    msg = str(info.value)
    assert f"{partial} lacks {TRAIN_LABELS}" in msg
    assert "--idx-dir" in msg
    assert (raw / TRAIN_LABELS).read_bytes() == good_files(seed=1)[TRAIN_LABELS]  # untouched


def test_cli_data_reports_the_idx_dir_it_used(tmp_path, capsys, no_download):
    write(tmp_path / "MNIST" / "raw", good_files(seed=1))
    new = tmp_path / "new"
    write(new, good_files(seed=2, n_train=30, n_test=10), compress=True)
    status = main(["data", "--dataset", "mnist", "--data-root", str(tmp_path), "--no-download",
                   "--idx-dir", str(new)])
    assert status == 0
    assert capsys.readouterr().out.strip() == (
        f"MNIST: 30 training and 10 test images from {new}")


def test_idx_dir_may_be_the_raw_folder_itself(tmp_path, no_download):
    raw = tmp_path / "MNIST" / "raw"
    files = good_files(seed=3)
    write(raw, {k: v for k, v in files.items() if k != TEST_LABELS})
    write(raw, {TEST_LABELS: files[TEST_LABELS]}, compress=True)
    data = load(tmp_path, idx_dir=raw)
    assert data.test_y.tolist() == arrays(seed=3)[TEST_LABELS].tolist()
    assert {name: (raw / name).read_bytes() for name in files} == files


# --------------------------------------------------------------------------- 19: some files


@pytest.mark.parametrize("where", ["root", "raw", "system"])
def test_missing_files_are_named_where_some_were_found(tmp_path, where, no_download):
    folder = {"root": tmp_path, "raw": tmp_path / "MNIST" / "raw",
              "system": tmp_path / "system"}[where]
    files = good_files()
    write(folder, {k: v for k, v in files.items() if k not in (TEST_IMAGES, TEST_LABELS)},
          compress=True)
    with pytest.raises(data_mod.DataNotFoundError) as info:
        data_mod.load_data("mnist", tmp_path, download=False,
                           system_dirs=(str(tmp_path / "system"),))
    msg = str(info.value)
    assert (f"{folder} lacks {TEST_IMAGES}, {TEST_LABELS} (has {TRAIN_IMAGES}, "
            f"{TRAIN_LABELS})") in msg
    for looked in (tmp_path / "MNIST" / "raw", tmp_path, tmp_path / "system"):
        assert str(looked) in msg


def test_files_scattered_over_two_folders_are_reported_for_each(tmp_path, no_download):
    files = good_files()
    write(tmp_path, {TRAIN_IMAGES: files[TRAIN_IMAGES]})
    write(tmp_path / "MNIST" / "raw", {TEST_LABELS: files[TEST_LABELS]})
    with pytest.raises(data_mod.DataNotFoundError) as info:
        load(tmp_path)
    msg = str(info.value)
    assert f"{tmp_path} lacks {TRAIN_LABELS}, {TEST_IMAGES}, {TEST_LABELS}" in msg
    assert f"{tmp_path / 'MNIST' / 'raw'} lacks {TRAIN_IMAGES}, {TRAIN_LABELS}, {TEST_IMAGES}" \
        in msg
    assert "all four in one folder" in msg
