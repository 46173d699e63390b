"""Regenerates the bundled dataset files in ``keras_crowd/datasets/data/``.

The bundled ``music.npz`` and ``labelme.npz`` are compact copies of the raw
files described in ``PROVENANCE.md``. This script rebuilds them from those
raw files, so the conversion is reproducible and reviewable:

    python -m keras_crowd.datasets.build_bundled_data --source ../shared/data

``--source`` is the folder holding ``music/`` and ``labelme/`` (default:
``$KERAS_CROWD_RAW_DATA`` or ``../shared/data`` next to the repository).
``--check`` compares the rebuilt arrays with the bundled ones instead of
writing (exit status 1 on a difference).

What the conversion does:
- Music: tasks (rows) are the 700 songs in ``music_genre_gold.csv`` order;
  annotators (columns) are the 44 worker ids sorted; genres map to indices in
  the order blues, classical, country, disco, hiphop, jazz, metal, pop,
  reggae, rock. Features are stored raw (float64, exactly as parsed from the
  CSV); the crowd labels' features are checked to equal the gold file's.
- LabelMe: arrays are copied unchanged (float32 VGG features; -1 missing in
  ``answers.txt``); annotator ids are the column indices 0..58.
"""

import argparse
import os
import pathlib
import sys

import numpy as np
import pandas as pd

from keras_crowd.data.long_format import from_long

MUSIC_CLASS_NAMES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop",
                     "reggae", "rock")
LABELME_CLASS_NAMES = ("highway", "insidecity", "tallbuilding", "street", "forest", "coast",
                       "mountain", "opencountry")
OUTPUT_DIR = pathlib.Path(__file__).resolve().parent / "data"


def _music_features(frame):
    columns = [c for c in frame.columns if c.startswith("feature")]
    columns.sort(key=lambda c: int(c[len("feature"):]))
    return frame[columns].to_numpy(dtype=np.float64)


def build_music(source):
    """The arrays of ``music.npz`` from the raw ``music/`` folder."""
    folder = pathlib.Path(source) / "music"
    gold = pd.read_csv(folder / "music_genre_gold.csv")
    test = pd.read_csv(folder / "music_genre_test.csv")
    mturk = pd.read_csv(folder / "music_genre_mturk.csv", dtype={"id": str, "annotator": str})
    gold_features = pd.DataFrame(_music_features(gold), index=gold["id"])
    if not np.array_equal(_music_features(mturk), gold_features.loc[mturk["id"]].to_numpy()):
        raise ValueError("music_genre_mturk.csv features differ from music_genre_gold.csv.")
    crowd = from_long(mturk, task_column="id", worker_column="annotator", label_column="class",
                      class_names=MUSIC_CLASS_NAMES, task_ids=list(gold["id"]),
                      empty_tasks="error")
    class_index = pd.Index(MUSIC_CLASS_NAMES)
    return {
        "x_train": _music_features(gold),
        "y_train": class_index.get_indexer(gold["class"]).astype(np.int8),
        "crowd_labels": crowd.crowd_labels.astype(np.int8),
        "train_ids": np.array(list(crowd.task_ids), dtype=str),
        "x_test": _music_features(test),
        "y_test": class_index.get_indexer(test["class"]).astype(np.int8),
        "test_ids": test["id"].to_numpy(dtype=str),
        "annotator_ids": np.array(list(crowd.annotator_ids), dtype=str),
        "class_names": np.array(MUSIC_CLASS_NAMES, dtype=str),
    }


def build_labelme(source):
    """The arrays of ``labelme.npz`` from the raw ``labelme/`` folder."""
    folder = pathlib.Path(source) / "labelme"
    arrays = {}
    for split in ("train", "valid", "test"):
        arrays[f"x_{split}"] = np.load(folder / f"LabelMe_VGG_avg_{split}.npy",
                                       allow_pickle=False).astype(np.float32)
        arrays[f"y_{split}"] = np.loadtxt(folder / f"LabelMe_Z_{split}.txt",
                                          dtype=np.int64).astype(np.int8)
    crowd_labels = np.loadtxt(folder / "answers.txt", dtype=np.int64)
    arrays["crowd_labels"] = crowd_labels.astype(np.int8)
    arrays["annotator_ids"] = np.arange(crowd_labels.shape[1], dtype=np.int64)
    arrays["class_names"] = np.array(LABELME_CLASS_NAMES, dtype=str)
    return arrays


BUILDERS = {"music": build_music, "labelme": build_labelme}


def default_source():
    """``$KERAS_CROWD_RAW_DATA``, else ``shared/data`` beside the repository."""
    if os.environ.get("KERAS_CROWD_RAW_DATA"):
        return pathlib.Path(os.environ["KERAS_CROWD_RAW_DATA"])
    return pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"


def differences(rebuilt, path):
    """Names of the arrays that differ between `rebuilt` and the npz at `path`."""
    with np.load(path, allow_pickle=False) as bundled:
        names = set(rebuilt) | set(bundled.files)
        return sorted(n for n in names
                      if n not in rebuilt or n not in bundled.files
                      or not np.array_equal(rebuilt[n], bundled[n]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=pathlib.Path, default=None,
                        help="folder with music/ and labelme/ (raw files)")
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT_DIR)
    parser.add_argument("--check", action="store_true",
                        help="compare with the bundled files instead of writing")
    args = parser.parse_args(argv)
    source = args.source or default_source()
    status = 0
    for name, build in BUILDERS.items():
        arrays = build(source)
        path = args.output / f"{name}.npz"
        if args.check:
            diff = differences(arrays, path)
            print(f"{path}: {'differs in ' + ', '.join(diff) if diff else 'up to date'}")
            status |= bool(diff)
        else:
            np.savez_compressed(path, **arrays)
            print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return status


if __name__ == "__main__":
    sys.exit(main())
