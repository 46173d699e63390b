"""Checks of arguments shared by several modules."""

import argparse
import math
import numbers

import numpy as np


def positive_integer(name, value):
    """`value` as an int, refusing anything but a whole number >= 1.

    Checked before any conversion: `int` would make 2 of 2.5 and 1 of
    `True`. A whole float such as `3.0` is accepted.

    Args:
        name: The argument's name, for the error message.
        value: The value given.

    Returns:
        `int(value)`.

    Raises:
        ValueError: `value` is not a number (e.g. `None`; a 0-d array or
            tensor counts as its number), is a bool, fractional, or below 1.

    Example:

    >>> positive_integer("num_annotators", 3.0)
    3
    """
    return _whole_number(name, value, minimum=1, description="a positive integer")


def non_negative_integer(name, value):
    """`value` as an int: the checks of `positive_integer`, with 0 allowed
    (a count of warm-up epochs, a seed). Same arguments, return and errors.

    Example:

    >>> non_negative_integer("warmup_epochs", 0)
    0
    """
    return _whole_number(name, value, minimum=0, description="a non-negative integer")


def _whole_number(name, value, minimum, description):
    if not isinstance(value, numbers.Real) and hasattr(value, "__array__") \
            and np.ndim(value) == 0:
        value = np.asarray(value).item()  # a 0-d array or tensor, e.g. read from an .npz
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not minimum <= value < math.inf or int(value) != value):
        raise ValueError(f"`{name}` must be {description}; got {value!r}.")
    return int(value)


def confusion_matrix_stack(confusion_matrices, name="confusion_matrices", allow_single=True):
    """`confusion_matrices` as an `(M, K, K)` float64 array, its shape checked.

    Only the shape is checked, not the values (see
    `keras_crowd.simulators.check_confusion_matrices` for that).

    Args:
        confusion_matrices: Array-like of shape `(M, K, K)`, or `(K, K)` for
            one annotator when `allow_single`.
        name: The argument's name, for the error message.
        allow_single: Whether one `(K, K)` matrix is accepted (as `M = 1`).

    Returns:
        The `(M, K, K)` float64 array.

    Raises:
        ValueError: Any other shape.

    Example:

    >>> confusion_matrix_stack(np.eye(3)).shape
    (1, 3, 3)
    """
    given = np.asarray(confusion_matrices, dtype=np.float64)
    matrices = given[None] if allow_single and given.ndim == 2 else given
    if matrices.ndim != 3 or matrices.shape[1] != matrices.shape[2]:
        shapes = "(M, K, K) or (K, K)" if allow_single else "(M, K, K)"
        raise ValueError(f"{name} must be {shapes}; got shape {given.shape}.")
    return matrices


def positive_integer_option(text):
    """An `argparse` `type`: the option's text as an int >= 1.

    `argparse` then refuses `0`, `-5` or `2.5` with a usage error naming
    the option, instead of the script running with a count it cannot use.

    Args:
        text: The text given on the command line.

    Returns:
        `int(text)`.

    Raises:
        argparse.ArgumentTypeError: `text` is not a whole number >= 1.

    Example:

    >>> parser.add_argument("--epochs", type=positive_integer_option)
    """
    try:
        return positive_integer("value", int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer; got {text!r}"
        ) from None
