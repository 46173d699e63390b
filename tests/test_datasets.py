import gzip
import pathlib

import numpy as np
import pytest

from keras_crowd import datasets
from keras_crowd.datasets import build_bundled_data
from keras_crowd.metrics import raw_label_accuracy

MUSIC_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop",
                "reggae", "rock")


@pytest.fixture(scope="module")
def music():
    return datasets.music()


@pytest.fixture(scope="module")
def labelme():
    return datasets.labelme()


def test_music_contents(music):
    assert isinstance(music, datasets.CrowdDataset) and music.name == "music"
    assert music.x_train.shape == (700, 124) and music.x_test.shape == (300, 124)
    assert music.crowd_labels.shape == (700, 44) and music.crowd_labels.dtype == np.int32
    assert music.class_names == MUSIC_GENRES
    assert len(music.annotator_ids) == 44 and all(isinstance(a, str) for a in music.annotator_ids)
    assert list(music.annotator_ids) == sorted(music.annotator_ids)
    assert music.task_ids[0] == "hiphop.00053.mp3"
    observed = music.crowd_labels >= 0
    assert observed.sum() == 2945
    per_item = observed.sum(axis=1)
    assert per_item.min() == 1 and per_item.max() == 7 and round(per_item.mean(), 1) == 4.2
    assert round(raw_label_accuracy(music.crowd_labels, music.y_train), 3) == 0.560
    assert music.x_valid is None and music.y_valid is None
    # Song ids name the true genre: the mapping to indices is the documented one.
    genres = [MUSIC_GENRES.index(t.split(".")[0]) for t in music.task_ids]
    assert np.array_equal(genres, music.y_train)


def test_music_standardized_with_train_statistics_only(music):
    raw = datasets.music(standardize=False)
    assert np.abs(raw.x_train).max() > 50  # unscaled Marsyas features
    assert np.allclose(music.x_train.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(music.x_train.std(axis=0), 1, atol=1e-4)
    x_train = raw.x_train.astype(np.float64)
    expected = (raw.x_test - x_train.mean(axis=0)) / x_train.std(axis=0)
    assert np.allclose(music.x_test, expected, atol=1e-4)
    assert not np.allclose(music.x_test.mean(axis=0), 0, atol=1e-3)


def test_labelme_contents(labelme):
    assert labelme.x_train.shape == (1000, 512) and labelme.x_train.dtype == np.float32
    assert labelme.x_valid.shape == (500, 512) and labelme.y_valid.shape == (500,)
    assert labelme.x_test.shape == (1188, 512) and labelme.y_test.shape == (1188,)
    assert labelme.crowd_labels.shape == (1000, 59) and (labelme.crowd_labels >= 0).sum() == 2547
    assert labelme.class_names[:3] == ("highway", "insidecity", "tallbuilding")
    assert labelme.annotator_ids == tuple(range(59))
    per_item = (labelme.crowd_labels >= 0).sum(axis=1)
    assert per_item.min() == 1 and per_item.max() == 3
    assert round(raw_label_accuracy(labelme.crowd_labels, labelme.y_train), 3) == 0.740


def test_dataset_long_format_keeps_user_ids(music):
    long = music.to_long()
    assert len(long) == 2945 and set(long.label) <= set(MUSIC_GENRES)
    assert set(long.worker) == set(music.annotator_ids)
    assert music.encoded_crowd_labels().num_labels == 2945


def test_bundled_files_load_without_pickle():
    folder = pathlib.Path(datasets.__file__).parent / "data"
    assert (folder / "PROVENANCE.md").exists()
    for name in ("music", "labelme"):
        with np.load(folder / f"{name}.npz", allow_pickle=False) as arrays:
            assert all(arrays[key].dtype != object for key in arrays.files)


def test_bundled_files_match_raw_sources():
    source = build_bundled_data.default_source()
    if not (source / "music").is_dir() or not (source / "labelme").is_dir():
        pytest.skip(f"raw data not found at {source}")
    assert build_bundled_data.main(["--source", str(source), "--check"]) == 0


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_from_a_user_path(tmp_path):
    rng = np.random.default_rng(0)
    images = {split: rng.integers(0, 256, size=(n, 28, 28)) for split, n in
              (("train", 6), ("t10k", 4))}
    for split, array in images.items():
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", array)
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(len(array)) % 10)
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist(path=tmp_path)
    assert x_train.dtype == np.uint8 and np.array_equal(x_train, images["train"])
    assert np.array_equal(x_test, images["t10k"]) and y_test.tolist() == [0, 1, 2, 3]
    assert len(datasets.FASHION_MNIST_CLASS_NAMES) == 10


def test_fashion_mnist_missing_files_say_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r"apt-get update && apt-get install -y dataset-fashion-mnist.*path="):
        datasets.fashion_mnist(path=tmp_path)


def test_read_idx_rejects_other_files(tmp_path):
    path = tmp_path / "not-idx"
    path.write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(path)


@pytest.mark.parametrize("payload, message", [
    (bytes([0, 0, 8, 3]) + (5).to_bytes(4, "big"), "truncated: its header names 3 dimensions"),
    (bytes([0, 0, 0x0D, 1]) + (2).to_bytes(4, "big") + bytes(7), r"shape \(2,\) \(8 data"),
    (bytes([0, 0, 8, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(5),
     "truncated or corrupt"),
])
def test_read_idx_names_truncated_files(tmp_path, payload, message):
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=message) as raised:
        datasets.read_idx(path)
    assert str(path) in str(raised.value)
    packed = tmp_path / "broken-idx1-ubyte.gz"
    packed.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + (4).to_bytes(4, "big") + bytes(4))[:-6])
    with pytest.raises(ValueError, match="truncated or not gzip"):
        datasets.read_idx(packed)


def test_fashion_mnist_refuses_labels_that_do_not_fit_the_images(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("t10k", 4)):
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(5) % 10)
    with pytest.raises(ValueError, match=r"one uint8 label per image .*\(6\)"):
        datasets.fashion_mnist(path=tmp_path)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.full(6, 99))
    with pytest.raises(ValueError, match="holds the label 99"):
        datasets.fashion_mnist(path=tmp_path)


def test_fashion_mnist_debian_package():
    if not pathlib.Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("dataset-fashion-mnist is not installed")
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_train).tolist() == [6000] * 10
