"""Checks of constructor arguments shared by several layers."""

import math
import numbers


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
        ValueError: `value` is not a number (e.g. `None`), is a bool,
            fractional, or below 1.

    Example:

    >>> positive_integer("num_annotators", 3.0)
    3
    """
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not 1 <= value < math.inf or int(value) != value):
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
    return int(value)
