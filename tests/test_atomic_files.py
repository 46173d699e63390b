"""Atomic writes: the new file gets the permissions a plain open() would give."""

import os
import stat

import keras
import pytest

from keras_crowd.utils import atomic_files


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_0022():
    previous = os.umask(0o022)
    yield 0o022
    os.umask(previous)


def test_new_file_gets_the_umask_default_mode(tmp_path, umask_0022):
    plain = tmp_path / "plain.json"
    plain.write_text("{}\n")
    atomic = atomic_files.write_text_atomic(tmp_path / "atomic.json", "{}\n")
    assert _mode(atomic) == _mode(plain) == 0o666 & ~umask_0022


def test_other_umask_is_honoured(tmp_path):
    previous = os.umask(0o077)
    try:
        path = atomic_files.write_text_atomic(tmp_path / "private.csv", "a\n")
    finally:
        os.umask(previous)
    assert _mode(path) == 0o600


def test_overwrite_keeps_the_existing_file_mode(tmp_path, umask_0022):
    path = tmp_path / "summary.csv"
    path.write_text("old\n")
    os.chmod(path, 0o640)
    with atomic_files.atomic_path(path) as temporary:
        with open(temporary, "w") as handle:
            handle.write("new\n")
    assert path.read_text() == "new\n" and _mode(path) == 0o640


def test_current_umask_is_read_without_changing_it():
    previous = os.umask(0o027)
    try:
        assert atomic_files.current_umask() == 0o027
        assert os.umask(0o027) == 0o027  # still set
    finally:
        os.umask(previous)


def test_current_umask_falls_back_without_proc(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic_files, "_PROC_STATUS", str(tmp_path / "missing"))
    previous = os.umask(0o027)
    try:
        assert atomic_files.current_umask() == 0o027
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(previous)


def test_the_temporary_name_keeps_every_suffix(tmp_path):
    # Keras refuses save_weights to a name that does not end in .weights.h5.
    with atomic_files.atomic_path(tmp_path / "final.weights.h5") as temporary:
        assert temporary.endswith(".weights.h5") and temporary != str(tmp_path / "final.weights.h5")
        keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save_weights(temporary)
    assert (tmp_path / "final.weights.h5").stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir()] == ["final.weights.h5"]
