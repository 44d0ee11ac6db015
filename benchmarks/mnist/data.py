"""MNIST and Fashion-MNIST for the benchmarks: find the IDX files, read them, make loaders.

Where the data comes from, in this order (nothing else is ever used instead):

1. ``idx_dir``, when given, is the only source: the four files, each plain or
   ``.gz``, must all lie there; they are decompressed (or copied) into
   ``<data_root>/<Folder>/raw/`` (torchvision's layout; ``<Folder>`` is
   ``MNIST`` or ``FashionMNIST``), replacing copies prepared there before.
   If any is missing, :class:`DataNotFoundError` says which.
2. ``<data_root>/<Folder>/raw/`` already holds the four uncompressed IDX files.
3. The four files, each plain or ``.gz``, lie together in one source folder:
   ``<data_root>/<Folder>/raw/`` (compressed copies), ``<data_root>`` itself,
   and for Fashion-MNIST Debian's ``/usr/share/datasets/fashion-mnist/``
   (package ``dataset-fashion-mnist``).  They are prepared as in 1.; the
   source is never written to.
4. ``download=True``: torchvision downloads into ``<data_root>/<Folder>/raw/``
   (needs internet).
5. Otherwise :class:`DataNotFoundError`, whose message says exactly what to
   install or where to put which files, and which files each folder that
   holds some of them lacks.

Before torchvision reads them, the files are checked (:class:`DataFileError`,
naming the file and what is wrong): the IDX header (two zero bytes, data type
``0x08`` for unsigned bytes, 3 dimensions of ``N x 28 x 28`` for images, 1 for
labels), the file size the header implies (truncated or overlong files), the
same number of images and labels in each split, and labels 0 to 9.  New
copies are checked before they replace anything in ``raw/``.

The images are read by ``torchvision.datasets.MNIST`` / ``FashionMNIST``, then
converted once to float tensors ``(N, 784)`` (pixels / 255, then standardised
with the mean and standard deviation of the training images used), so a
:class:`~torch.utils.data.DataLoader` over a
:class:`~torch.utils.data.TensorDataset` serves whole batches without a PIL
round trip per image.

Example::

    >>> spec("fashion-mnist").name, spec("fashion-mnist").folder
    ('Fashion-MNIST', 'FashionMNIST')
"""

from __future__ import annotations

import filecmp
import gzip
import math
import os
import shutil
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
)

__all__ = [
    "DATASETS",
    "IDX_FILES",
    "DEFAULT_DATA_ROOT",
    "DatasetSpec",
    "DataNotFoundError",
    "DataFileError",
    "MNISTData",
    "spec",
    "find_source",
    "prepare_raw",
    "load_raw",
    "load_data",
    "make_loader",
]

#: The four IDX files of both data sets (torchvision's names, uncompressed).
IDX_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: Per file: the dimensions after the first (the number of items): 28 x 28 pixels, or none.
_ITEM_SHAPE: dict[str, tuple[int, ...]] = {
    "train-images-idx3-ubyte": (28, 28),
    "train-labels-idx1-ubyte": (),
    "t10k-images-idx3-ubyte": (28, 28),
    "t10k-labels-idx1-ubyte": (),
}

#: The IDX data type code of unsigned bytes, the only one MNIST and Fashion-MNIST use.
_UBYTE = 0x08

#: Default ``data_root`` (relative to the working directory; git-ignored as ``/data/``).
DEFAULT_DATA_ROOT = Path("data")


@dataclass(frozen=True)
class DatasetSpec:
    """One data set: its key on the command line, its honest name, where to find it."""

    key: str
    name: str
    folder: str
    system_dirs: tuple[str, ...] = ()
    how_to_get: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def torchvision_class(self) -> Any:
        """``torchvision.datasets.MNIST`` or ``FashionMNIST``."""
        import torchvision

        return getattr(torchvision.datasets, self.folder)


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        key="mnist",
        name="MNIST",
        folder="MNIST",
        how_to_get=(
            "run once with internet access (torchvision downloads the files into "
            "{raw}/), or copy the four files (plain or .gz) from "
            "https://ossci-datasets.s3.amazonaws.com/mnist/ into {raw}/ "
            "(or any folder passed as --idx-dir). Fashion-MNIST, a different data set in the "
            "same format, is available offline (`apt-get install dataset-fashion-mnist`, then "
            "--dataset fashion-mnist), and is then named as such in every result"
        ),
    ),
    "fashion-mnist": DatasetSpec(
        key="fashion-mnist",
        name="Fashion-MNIST",
        folder="FashionMNIST",
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        how_to_get=(
            "install Debian's package: `apt-get install dataset-fashion-mnist` (it puts the "
            ".gz files into /usr/share/datasets/fashion-mnist/, which is read from there), "
            "or copy the four files (plain or .gz) from "
            "https://github.com/zalandoresearch/fashion-mnist into {raw}/ "
            "(or any folder passed as --idx-dir), or run once with internet access"
        ),
    ),
}


def spec(dataset: str) -> DatasetSpec:
    """The :class:`DatasetSpec` for ``"mnist"`` or ``"fashion-mnist"``."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {tuple(DATASETS)}, got {dataset!r}")
    return DATASETS[dataset]


class DataNotFoundError(FileNotFoundError):
    """The data set's files are not on disk and could not be downloaded."""


class DataFileError(ValueError):
    """A data file is damaged (IDX header, size, labels) or the files disagree (counts)."""


#: File in ``<raw>/`` that records which folder the prepared copies came from.
_SOURCE_MARKER = "SOURCE.txt"


def _raw_folder(dataset: str, data_root: str | Path) -> Path:
    return Path(data_root) / spec(dataset).folder / "raw"


def _has_plain(folder: Path) -> bool:
    return all((folder / name).is_file() for name in IDX_FILES)


def _file_in(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _missing(folder: Path) -> list[str]:
    return [name for name in IDX_FILES if _file_in(folder, name) is None]


def _source_dirs(
    dataset: str, data_root: str | Path, idx_dir: str | Path | None, system_dirs: tuple[str, ...]
) -> list[Path]:
    if idx_dir is not None:
        return [Path(idx_dir)]
    dirs = [_raw_folder(dataset, data_root), Path(data_root)]
    return dirs + [Path(d) for d in system_dirs]


def _origin(raw: Path) -> Path:
    """Where the copies in ``raw`` came from (its marker), or ``raw`` itself."""
    marker = raw / _SOURCE_MARKER
    return Path(marker.read_text().strip()) if marker.is_file() else raw


# --------------------------------------------------------------------------- checks


def _idx_count(path: Path, name: str, shown: str) -> int:
    """Check one IDX file's header and size; the number of items (images or labels)."""
    item = _ITEM_SHAPE[name]
    ndim = 1 + len(item)
    header = 4 + 4 * ndim
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(header)
    if size < 4:
        raise DataFileError(f"{shown}: {size} bytes, too short for an IDX file (a 4-byte "
                            "magic number, then the dimensions, then the data)")
    if head[:2] != b"\x00\x00":
        raise DataFileError(f"{shown}: not an IDX file (magic number {head[:4].hex()}; an IDX "
                            "file starts with two zero bytes)")
    if head[2] != _UBYTE:
        raise DataFileError(f"{shown}: data type 0x{head[2]:02x} in the header, expected "
                            f"0x{_UBYTE:02x} (unsigned bytes)")
    if head[3] != ndim:
        what = "images x 28 x 28 pixels" if item else "labels"
        raise DataFileError(f"{shown}: {head[3]} dimension{'' if head[3] == 1 else 's'} in the "
                            f"header, expected {ndim} ({what})")
    if size < header:
        raise DataFileError(f"{shown}: truncated header: {size} bytes, but a {ndim}-dimensional "
                            f"IDX file starts with a {header}-byte header")
    dims = struct.unpack(f">{ndim}I", head[4:])
    if dims[1:] != item:
        raise DataFileError(f"{shown}: images of {' x '.join(map(str, dims[1:]))} pixels, "
                            f"expected {' x '.join(map(str, item))}")
    need = header + math.prod(dims)
    if size != need:
        problem = "truncated" if size < need else "longer than its header says"
        raise DataFileError(
            f"{shown}: {problem}: the header says {' x '.join(map(str, dims))} unsigned bytes, "
            f"{need} bytes with the {header}-byte header, but the file has {size} bytes"
        )
    return dims[0]


def _check_files(paths: dict[str, Path], shown: dict[str, str], advice: str) -> None:
    """Check the four files (:func:`_idx_count`) and that each split has as many labels as
    images; :class:`DataFileError` ending in ``advice`` otherwise."""
    try:
        counts = {name: _idx_count(paths[name], name, shown[name]) for name in IDX_FILES}
        for split, images, labels in (("training", *IDX_FILES[:2]), ("test", *IDX_FILES[2:])):
            if counts[images] != counts[labels]:
                raise DataFileError(
                    f"{split} images and labels disagree: {shown[images]} holds "
                    f"{counts[images]} images "
                    f"but {shown[labels]} holds {counts[labels]} labels"
                )
    except DataFileError as err:
        raise DataFileError(f"{err}. {advice}") from None


def _check_labels(labels: Tensor, shown: str, advice: str) -> None:
    bad = torch.nonzero((labels < 0) | (labels > 9))
    if len(bad):
        i = int(bad[0, 0])
        raise DataFileError(f"{shown}: label {int(labels[i])} at index {i}; the labels of the "
                            f"ten classes are 0 to 9. {advice}")


# --------------------------------------------------------------------------- finding, preparing


def find_source(
    dataset: str,
    data_root: str | Path = DEFAULT_DATA_ROOT,
    *,
    idx_dir: str | Path | None = None,
    system_dirs: tuple[str, ...] | None = None,
) -> Path | None:
    """The first source folder holding all four IDX files (plain or ``.gz``), or ``None``.

    Args:
        dataset: ``"mnist"`` or ``"fashion-mnist"``.
        data_root: torchvision's root (``<data_root>/<Folder>/raw/``).
        idx_dir: if given, the only folder looked in.
        system_dirs: system folders to look in last (default: the data set's,
            e.g. Debian's ``/usr/share/datasets/fashion-mnist``).
    """
    dirs = spec(dataset).system_dirs if system_dirs is None else tuple(system_dirs)
    for folder in _source_dirs(dataset, data_root, idx_dir, dirs):
        if not _missing(folder):
            return folder
    return None


def _idx_dir_message(dataset: str, idx_dir: Path, raw: Path, missing: list[str]) -> str:
    has = [name for name in IDX_FILES if name not in missing]
    where = f"{idx_dir} lacks {', '.join(missing)}" + (
        f" (has {', '.join(has)})" if has else " (no such folder)" if not idx_dir.is_dir() else "")
    return (
        f"{spec(dataset).name}: the folder given as idx_dir (--idx-dir) must hold the four IDX "
        f"files, each plain or .gz: {where}. An explicit idx_dir is the only source used: "
        f"nothing else (no copies prepared before in {raw}/, no other folder, no download) is "
        f"used instead. Put the missing files there, or leave out --idx-dir."
    )


def _stage(source: Path, raw: Path, name: str) -> tuple[Path, str]:
    """Decompress or copy ``name`` from ``source`` to a private file in ``raw``; returns it and
    how messages name the file."""
    found = _file_in(source, name)
    assert found is not None
    part = raw / f"{name}.{os.getpid()}.part"
    try:
        if found.suffix == ".gz":
            try:
                with gzip.open(found, "rb") as src, open(part, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (EOFError, gzip.BadGzipFile, zlib.error) as err:
                raise DataFileError(f"{found}: cannot decompress ({err}). Replace it with an "
                                    "intact copy") from err
            return part, f"{found} (decompressed)"
        shutil.copyfile(found, part)
        return part, str(found)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _install(dataset: str, raw: Path, source: Path, names: list[str]) -> None:
    """Prepare ``names`` from ``source`` into ``raw``: staged, checked with the files they join,
    then moved in place (a file with the same bytes is left as it is)."""
    staged: dict[str, tuple[Path, str]] = {}
    try:
        try:
            raw.mkdir(parents=True, exist_ok=True)
            for name in names:
                staged[name] = _stage(source, raw, name)
        except OSError as err:
            raise DataNotFoundError(
                f"found the {spec(dataset).name} files in {source} but cannot write the "
                f"uncompressed copies into {raw}/ ({err}); pass a writable --data-root "
                f"(and --idx-dir {source})"
            ) from err
        paths = {n: staged[n][0] if n in staged else raw / n for n in IDX_FILES}
        shown = {n: staged[n][1] if n in staged else str(raw / n) for n in IDX_FILES}
        _check_files(paths, shown, f"Nothing was changed in {raw}/.")
        for name, (part, _) in staged.items():
            target = raw / name
            if not (target.is_file() and filecmp.cmp(part, target, shallow=False)):
                os.replace(part, target)
        (raw / _SOURCE_MARKER).write_text(f"{source}\n")
    finally:
        for part, _ in staged.values():
            part.unlink(missing_ok=True)


def prepare_raw(
    dataset: str,
    data_root: str | Path = DEFAULT_DATA_ROOT,
    *,
    idx_dir: str | Path | None = None,
    system_dirs: tuple[str, ...] | None = None,
) -> tuple[Path, Path] | None:
    """Make ``<data_root>/<Folder>/raw/`` hold the four uncompressed IDX files.

    Returns ``(raw_folder, source_folder)``, or ``None`` when no source folder
    has the files.  The source folder is recorded in ``<raw>/SOURCE.txt`` and
    reported again on later calls.  ``.gz`` files are decompressed, plain ones
    copied; new copies are checked (:class:`DataFileError`) before they
    replace anything.  Without ``idx_dir``, files already in place are kept;
    an explicit ``idx_dir`` is the only source and replaces them
    (:class:`DataNotFoundError` naming the missing files if it lacks any).
    Sources are only read.
    """
    raw = _raw_folder(dataset, data_root)
    if idx_dir is not None:
        source = Path(idx_dir)
        missing = _missing(source)
        if missing:
            raise DataNotFoundError(_idx_dir_message(dataset, source, raw, missing))
        same = raw.is_dir() and source.resolve() == raw.resolve()
        names = [n for n in IDX_FILES if not (same and (raw / n).is_file())]
    elif _has_plain(raw):
        return raw, _origin(raw)
    else:
        found = find_source(dataset, data_root, system_dirs=system_dirs)
        if found is None:
            return None
        source = found
        names = [n for n in IDX_FILES if not (raw / n).is_file()]
    _install(dataset, raw, source, names)
    return raw, source


def _not_found_message(
    dataset: str,
    data_root: str | Path,
    idx_dir: str | Path | None,
    system_dirs: tuple[str, ...],
    download_error: str | None,
) -> str:
    s = spec(dataset)
    raw = _raw_folder(dataset, data_root)
    dirs = _source_dirs(dataset, data_root, idx_dir, system_dirs)
    looked = ", ".join(str(d) for d in dirs)
    partial = [(d, _missing(d)) for d in dirs]
    partial = [(d, m) for d, m in partial if 0 < len(m) < len(IDX_FILES)]
    some = (
        "Some files were found, but not all four in one folder: " + "; ".join(
            f"{d} lacks {', '.join(m)} (has {', '.join(n for n in IDX_FILES if n not in m)})"
            for d, m in partial) + ".\n"
        if partial else ""
    )
    download = (
        f"the download failed: {download_error}"
        if download_error is not None
        else "no download was tried (--no-download)"
    )
    return (
        f"{s.name} not found. Looked for the four IDX files {', '.join(IDX_FILES)} "
        f"(each plain or .gz) in: {looked}; {download}.\n"
        f"{some}"
        f"To get {s.name}: {s.how_to_get.format(raw=raw)}.\n"
        f"Nothing else is used instead: no other data set and no random data."
    )


def load_raw(
    dataset: str,
    data_root: str | Path = DEFAULT_DATA_ROOT,
    *,
    idx_dir: str | Path | None = None,
    download: bool = True,
    system_dirs: tuple[str, ...] | None = None,
) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor], str]:
    """Read the training and test split through torchvision.

    Returns:
        ``((train_images, train_labels), (test_images, test_labels), source)``:
        images ``uint8 (N, 28, 28)``, labels ``int64 (N,)``, and where the files
        came from (a folder, or ``"download"``).

    Raises:
        DataNotFoundError: the files are nowhere and could not be downloaded;
            the message says what to install or where to put them.
        DataFileError: a file is damaged or the files disagree; the message
            names the file and what is wrong.
    """
    s = spec(dataset)
    dirs = s.system_dirs if system_dirs is None else tuple(system_dirs)
    prepared = prepare_raw(dataset, data_root, idx_dir=idx_dir, system_dirs=dirs)
    cls = s.torchvision_class()
    if prepared is not None:
        source = str(prepared[1])
    else:
        download_error: str | None = None
        if download:
            try:
                cls(str(data_root), train=True, download=True)
            except Exception as err:  # torchvision: RuntimeError/URLError/OSError offline
                download_error = " ".join(str(err).split())[:400] or type(err).__name__
        if not download or download_error is not None:
            message = _not_found_message(dataset, data_root, idx_dir, dirs, download_error)
            raise DataNotFoundError(message)
        source = f"download into {_raw_folder(dataset, data_root)}"
    raw = _raw_folder(dataset, data_root)
    origin = _origin(raw)
    note = "" if origin == raw else f" (prepared from {origin})"
    advice = "Replace the faulty file with an intact copy" + (
        f", or delete the copies in {raw}/ to prepare them again from their source (or pass "
        "--idx-dir)" if note else "")
    shown = {name: f"{raw / name}{note}" for name in IDX_FILES}
    _check_files({name: raw / name for name in IDX_FILES}, shown, advice + ".")
    train = cls(str(data_root), train=True, download=False)
    test = cls(str(data_root), train=False, download=False)
    _check_labels(train.targets, shown[IDX_FILES[1]], advice + ".")
    _check_labels(test.targets, shown[IDX_FILES[3]], advice + ".")
    return (train.data, train.targets), (test.data, test.targets), source


@dataclass
class MNISTData:
    """A data set ready for training: flat, standardised float images and labels.

    Attributes:
        key: ``"mnist"`` or ``"fashion-mnist"``.
        name: the honest name for every table (``"MNIST"``, ``"Fashion-MNIST"``).
        train_x, test_x: ``float32 (N, 784)``.
        train_y, test_y: ``int64 (N,)``.
        mean, std: the standardisation (of the training pixels in [0, 1]).
        source: where the files came from.
        subset_seed: the seed of the subset draw (``None``: full splits).
    """

    key: str
    name: str
    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    mean: float
    std: float
    source: str
    subset_seed: int | None = None

    @property
    def in_features(self) -> int:
        """784 for 28x28 images."""
        return int(self.train_x.shape[1])

    @property
    def num_classes(self) -> int:
        """10."""
        return 10

    def to(self, device: torch.device | str) -> MNISTData:
        """Move the four tensors to ``device`` (returns ``self``)."""
        for attr in ("train_x", "train_y", "test_x", "test_y"):
            setattr(self, attr, getattr(self, attr).to(device))
        return self

    def describe(self) -> dict[str, Any]:
        """Plain-JSON description for the results file."""
        return {
            "dataset": self.name,
            "dataset_key": self.key,
            "source": self.source,
            "train_size": int(self.train_x.shape[0]),
            "test_size": int(self.test_x.shape[0]),
            "mean": self.mean,
            "std": self.std,
            "subset_seed": self.subset_seed,
        }


def _subset(n: int, size: int | None, generator: torch.Generator) -> Tensor | None:
    if size is None or size >= n:
        return None
    if size < 1:
        raise ValueError(f"subset sizes must be >= 1, got {size}")
    return torch.randperm(n, generator=generator)[:size]


def load_data(
    dataset: str,
    data_root: str | Path = DEFAULT_DATA_ROOT,
    *,
    idx_dir: str | Path | None = None,
    download: bool = True,
    train_size: int | None = None,
    test_size: int | None = None,
    subset_seed: int = 0,
    system_dirs: tuple[str, ...] | None = None,
) -> MNISTData:
    """Load a data set as :class:`MNISTData` (see the module docstring for where from).

    Args:
        dataset: ``"mnist"`` or ``"fashion-mnist"``.
        data_root: torchvision's root; uncompressed copies are written below it.
        idx_dir: a folder holding the four IDX files (plain or ``.gz``): the
            only source when given (replaces copies prepared before).
        download: let torchvision download when the files are not on disk.
        train_size, test_size: use a random subset of this size (``None``: all).
        subset_seed: seed of the subset draw (the same subset for every run).
        system_dirs: override the system folders searched (tests).

    Example (not run: needs the files)::

        data = load_data("fashion-mnist", train_size=5000, test_size=2000)
        data.train_x.shape  # torch.Size([5000, 784])
    """
    s = spec(dataset)
    (tr_x, tr_y), (te_x, te_y), source = load_raw(
        dataset, data_root, idx_dir=idx_dir, download=download, system_dirs=system_dirs
    )
    g = torch.Generator().manual_seed(subset_seed)
    train_index, test_index = _subset(len(tr_y), train_size, g), _subset(len(te_y), test_size, g)
    if train_index is not None:
        tr_x, tr_y = tr_x[train_index], tr_y[train_index]
    if test_index is not None:
        te_x, te_y = te_x[test_index], te_y[test_index]
    train_x = tr_x.reshape(len(tr_x), -1).to(torch.float32) / 255.0
    test_x = te_x.reshape(len(te_x), -1).to(torch.float32) / 255.0
    mean = float(train_x.mean())
    std = float(train_x.std())
    if not std > 0:
        raise ValueError(f"the {s.name} training images are constant; cannot standardise")
    return MNISTData(
        key=s.key,
        name=s.name,
        train_x=(train_x - mean) / std,
        train_y=tr_y.to(torch.int64),
        test_x=(test_x - mean) / std,
        test_y=te_y.to(torch.int64),
        mean=mean,
        std=std,
        source=source,
        subset_seed=subset_seed if (train_index is not None or test_index is not None) else None,
    )


def make_loader(
    x: Tensor,
    y: Tensor,
    batch_size: int = 128,
    *,
    shuffle: bool = True,
    seed: int | None = 0,
) -> DataLoader:
    """A standard :class:`DataLoader` over ``(x, y)`` that yields whole batches.

    A :class:`~torch.utils.data.BatchSampler` hands the
    :class:`TensorDataset` a list of indices, so a batch is one indexing
    operation (no per-sample collation).  With ``shuffle``, the order comes
    from a generator seeded with ``seed`` (the same order for the same seed).

    Example::

        >>> loader = make_loader(torch.zeros(5, 3), torch.arange(5), batch_size=2, shuffle=False)
        >>> [tuple(xb.shape) for xb, _ in loader]
        [(2, 3), (2, 3), (1, 3)]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    dataset = TensorDataset(x, y)
    if shuffle:
        generator = torch.Generator()
        if seed is not None:
            generator.manual_seed(seed)
        sampler: Any = RandomSampler(dataset, generator=generator)
    else:
        sampler = SequentialSampler(dataset)
    batches = BatchSampler(sampler, batch_size=batch_size, drop_last=False)
    return DataLoader(dataset, batch_size=None, sampler=batches)
