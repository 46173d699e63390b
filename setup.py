"""Packaging for keras_crowd."""

import pathlib

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent

setup(
    name="keras_crowd",
    version="0.1.0",
    description=(
        "Keras layers and models for training classifiers directly from "
        "crowdsourced labels (crowd layer, CCEM, GeoCrowdNet)."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["keras_crowd", "keras_crowd.*"]),
    package_data={"keras_crowd.datasets": ["data/*.npz", "data/*.md"]},
    include_package_data=True,
    install_requires=[
        "tensorflow-cpu>=2.16",
        "keras>=3.0",
        "ml-dtypes",  # installed with keras; finfo of bfloat16
        "numpy>=1.24,<2.4",
        "pandas>=1.5",
        "click>=8.0",
        "matplotlib>=3.5",
    ],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6", "tensorflow-probability>=0.24"],
        # tensorflow-probability needs tf-keras, which must be installed with
        # --no-deps (it would otherwise pull the full tensorflow wheel); see
        # README "Optional extras".
        "probability": ["tensorflow-probability>=0.24"],
    },
    entry_points={"console_scripts": ["keras-crowd=keras_crowd.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
