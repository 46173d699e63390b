"""Reading the compressed `.npz` files shipped in ``keras_crowd/datasets/data/``."""

import importlib.resources

import numpy as np


def load_bundled_arrays(name):
    """All arrays of the bundled ``data/{name}.npz``, as a dict.

    Loaded with ``allow_pickle=False``: the files hold plain numeric and
    fixed-width string arrays only.
    """
    resource = importlib.resources.files("keras_crowd.datasets").joinpath("data", f"{name}.npz")
    with importlib.resources.as_file(resource) as path:
        if not path.exists():
            raise FileNotFoundError(
                f"The bundled dataset file {path} is missing: reinstall keras_crowd, or "
                "regenerate it with `python -m keras_crowd.datasets.build_bundled_data`.")
        with np.load(path, allow_pickle=False) as arrays:
            return {key: arrays[key] for key in arrays.files}
