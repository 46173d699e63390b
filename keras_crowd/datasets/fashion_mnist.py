"""Fashion-MNIST from the IDX files of Debian's ``dataset-fashion-mnist``."""

import gzip
import os
import pathlib

import numpy as np

DEFAULT_PATH = "/usr/share/datasets/fashion-mnist"
INSTALL_HINT = "apt-get update && apt-get install -y dataset-fashion-mnist"
FASHION_MNIST_CLASS_NAMES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal",
                             "shirt", "sneaker", "bag", "ankle boot")
_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
# IDX type codes -> big-endian numpy dtypes.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Reads one IDX file (optionally gzip-compressed) into a numpy array.

    Args:
        path: path to an ``.idx*-ubyte`` or ``.idx*-ubyte.gz`` file.

    Returns:
        The array, with the shape stored in the file, in native byte order.
    """
    path = pathlib.Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            payload = file.read()
    except (EOFError, gzip.BadGzipFile) as error:
        raise ValueError(f"{path} is truncated or not gzip data ({error}).") from error
    if len(payload) < 4 or payload[0] != 0 or payload[1] != 0 or payload[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    ndim = payload[3]
    offset = 4 + 4 * ndim
    if len(payload) < offset:
        raise ValueError(f"{path} is truncated: its header names {ndim} dimensions but "
                         f"the file has {len(payload)} bytes.")
    shape = tuple(int(size) for size in np.frombuffer(payload, dtype=">u4", count=ndim,
                                                      offset=4))
    dtype = np.dtype(_IDX_DTYPES[payload[2]])
    expected_bytes = int(np.prod(shape)) * dtype.itemsize
    if len(payload) - offset != expected_bytes:
        raise ValueError(f"{path} is truncated or corrupt: its header says shape {shape} "
                         f"({expected_bytes} data bytes) but it holds {len(payload) - offset}.")
    data = np.frombuffer(payload, dtype=dtype, offset=offset)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder, stem):
    for name in (stem + ".gz", stem):
        candidate = folder / name
        if candidate.exists():
            return candidate
    return None


def fashion_mnist(path=None):
    """Loads Fashion-MNIST (60000 train / 10000 test images, 28x28, 10 classes).

    No download: the files come from Debian's ``dataset-fashion-mnist``
    package (``/usr/share/datasets/fashion-mnist/``) or from `path`. Use it
    with `keras_crowd.simulators` to create synthetic annotators, as in the
    paper's MNIST / Fashion-MNIST studies.

    Args:
        path: folder holding ``{train,t10k}-{images-idx3,labels-idx1}-ubyte``
            (``.gz`` or not). Default: ``/usr/share/datasets/fashion-mnist``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` like `keras.datasets`:
        uint8 images (N, 28, 28) and uint8 labels (N,). Class names are in
        `FASHION_MNIST_CLASS_NAMES`.

    Raises:
        FileNotFoundError: the files are missing; the message says how to
            install them.
    """
    folder = pathlib.Path(os.fspath(path) if path is not None else DEFAULT_PATH)
    found = {key: _find(folder, stem) for key, stem in _FILES.items()}
    missing = [_FILES[key] for key, file in found.items() if file is None]
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST files not found in {folder} (missing {', '.join(missing)}). "
            f"Install them with `{INSTALL_HINT}`, or pass path= to a folder holding them.")
    arrays = {key: read_idx(file) for key, file in found.items()}
    for split in ("train", "test"):
        _check_split(arrays[f"x_{split}"], arrays[f"y_{split}"], found[f"x_{split}"],
                     found[f"y_{split}"])
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _check_split(images, labels, images_path, labels_path):
    """Refuses files that are not what `fashion_mnist` promises."""
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{images_path} must hold uint8 images of 28x28 pixels; got "
                         f"{images.dtype} of shape {images.shape}.")
    if labels.dtype != np.uint8 or labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"{labels_path} must hold one uint8 label per image of "
                         f"{images_path} ({len(images)}); got {labels.dtype} of shape "
                         f"{labels.shape}.")
    if labels.size and labels.max() >= len(FASHION_MNIST_CLASS_NAMES):
        raise ValueError(f"{labels_path} holds the label {int(labels.max())}; Fashion-MNIST "
                         f"has {len(FASHION_MNIST_CLASS_NAMES)} classes.")
