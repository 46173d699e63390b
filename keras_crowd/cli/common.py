"""What every `keras-crowd` subcommand shares: errors, options and output.

- `cli_errors`: the error boundary. The library's errors about bad input
  (`ValueError`, hence every `CrowdDataError`; `OSError`, hence
  `FileNotFoundError` and `FileExistsError`; ...) become a one-line
  `click.ClickException` (exit code 1, no traceback).
- `examples_epilog`: the "Examples" section that ends every ``--help``.
- `echo_table`, `write_json`, `json_ready`, `warn`: terminal and machine
  output.
"""

import csv
import functools
import io
import json
import math
import pathlib
import re
import zipfile

import click
import numpy as np

from keras_crowd.utils.atomic_files import write_text_atomic

BUNDLED_DATASET_NAMES = ("labelme", "music")
CLASS_NAMES_HELP = "Comma-separated class names, in index order (fixes K and the order)."
# For commands that read crowd labels written as names.
LABEL_CLASS_NAMES_HELP = (CLASS_NAMES_HELP[:-1]
                          + " [default: the names in the labels, sorted].")


def one_line(message):
    """Collapses a (possibly multi-line) error message onto one line."""
    return " ".join(str(message).split())


# The library's advice names its Python arguments; under the CLI, the
# options that set them.
_PYTHON_ARGUMENTS_AS_OPTIONS = (
    (r"pass class_names= ", "pass --class-names "),
    (r"\bnum_classes=(\d+)", r"--num-classes \1"),
    (r'Pass duplicates="first" or duplicates="last" to keep one label \(.*\)\)',
     "Pass --duplicates first or --duplicates last to keep one label"),
)


def _as_cli_advice(message):
    """`message` with the library's Python argument names replaced by the
    CLI options that set them (``class_names=`` -> ``--class-names``)."""
    for python, option in _PYTHON_ARGUMENTS_AS_OPTIONS:
        message = re.sub(python, option, message)
    return message


def _error_message(error):
    if isinstance(error, KeyError) and error.args:
        return f"Missing key {error.args[0]!r}."
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.strerror}: {error.filename}"
    message = str(error)
    try:  # TensorFlow's runtime errors carry a long graph trace after the message.
        import tensorflow as tf

        if isinstance(error, tf.errors.OpError):
            message = error.message.strip().splitlines()[0]
    except ImportError:  # pragma: no cover - TensorFlow is a dependency
        pass
    return _as_cli_advice(message) or type(error).__name__


def _expected_errors():
    errors = (ValueError, OSError, KeyError, ImportError, zipfile.BadZipFile)
    try:
        import tensorflow as tf

        errors += (tf.errors.OpError,)
    except ImportError:  # pragma: no cover
        pass
    return errors


def cli_errors(command):
    """Decorator: turns the library's input errors into one-line CLI errors.

    Args:
        command: A click command callback.

    Returns:
        The wrapped callback; an expected error becomes a
        `click.ClickException` whose message is one line.

    Example:

    >>> @click.command()
    ... @cli_errors
    ... def show(path):
    ...     keras_crowd.data.read_csv(path)   # a bad file -> "Error: ..."
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (click.ClickException, BrokenPipeError):
            # A closed pipe (`keras-crowd report ... | head`) is click's to
            # end quietly, not an error message of ours.
            raise
        except _expected_errors() as error:
            raise click.ClickException(one_line(_error_message(error))) from None

    return wrapper


def warn(message):
    """Prints ``Warning: <message>`` (one line) on stderr; the command goes on."""
    click.echo(f"Warning: {one_line(message)}", err=True)


def examples_epilog(*lines):
    """An "Examples:" help section, kept verbatim by click (``\\b``).

    Args:
        *lines: One example command per argument (comments allowed).

    Returns:
        The epilog string for `click.command(epilog=...)`.

    Example:

    >>> @click.command(epilog=examples_epilog("keras-crowd train --epochs 5"))
    ... def train(): ...
    """
    body = "\n".join(f"  {line}" for line in lines)
    return f"\b\nExamples:\n{body}"


def parse_class_names(text):
    """``"cat,dog"`` -> ``("cat", "dog")``; None stays None.

    The names are one CSV row: a name holding a comma is quoted,
    ``'"bird, small",cat'`` -> ``("bird, small", "cat")``.
    """
    if text is None:
        return None
    cells = next(csv.reader([text], skipinitialspace=True), [])
    names = tuple(name.strip() for name in cells)
    if not names or not all(names) or len(set(names)) != len(names):
        raise click.BadParameter(
            f"{text!r} must be distinct, non-empty, comma-separated names.",
            param_hint="'--class-names'",
        )
    return names


def format_class_names(names):
    """The ``--class-names`` value of `names`, as `parse_class_names` reads it back."""
    text = io.StringIO()
    csv.writer(text, lineterminator="").writerow([str(name) for name in names])
    return text.getvalue()


def check_source(dataset, files, file_options, default=None):
    """Chooses between a bundled dataset and user files, exactly one of them.

    Args:
        dataset: The ``--dataset`` value or None.
        files: The user-file option values that define the data.
        file_options: Their option names, for the error message.
        default: The dataset to use when neither is given (None: required).

    Returns:
        The dataset name, or None when user files are used.
    """
    given = any(value is not None for value in files)
    if dataset is not None and given:
        raise click.UsageError(
            f"Give either --dataset or {' / '.join(file_options)}, not both."
        )
    if dataset is None and not given:
        if default is None:
            raise click.UsageError(f"Give --dataset or {' / '.join(file_options)}.")
        return default
    return dataset


def json_ready(value):
    """Converts numpy values, paths and NaN to plain JSON values (NaN -> None)."""
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pathlib.PurePath):
        return str(value)
    return value


def write_json(payload, path):
    """Writes `payload` as indented JSON (made JSON-ready), creating folders."""
    path = pathlib.Path(path)
    write_text_atomic(path, json.dumps(json_ready(payload), indent=2) + "\n")
    return path


def format_value(value, digits=4):
    """A table cell: floats rounded, None/NaN as "-"."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, (float, np.floating)):
        return f"{value:.{digits}f}"
    return str(value)


def format_table(rows, headers=None):
    """Aligned plain-text table of `rows` (sequences of cells)."""
    cells = [[format_value(cell) for cell in row] for row in rows]
    if headers:
        cells.insert(0, [str(header) for header in headers])
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in cells]
    if headers:
        lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def echo_table(rows, headers=None, title=None):
    """Prints `format_table(rows, headers)`, with an optional title line."""
    if title:
        click.echo(title)
    click.echo(format_table(rows, headers))


# ------------------------------------------------------------ shared options
def dataset_option(names=BUNDLED_DATASET_NAMES, help_text="A bundled dataset."):
    """``--dataset NAME`` restricted to `names`."""
    return click.option("--dataset", type=click.Choice(names), default=None, help=help_text)


def class_names_option(help_text=CLASS_NAMES_HELP):
    """``--class-names a,b,c``, parsed into a tuple."""
    return click.option(
        "--class-names", default=None, metavar="NAMES",
        help=f"{help_text} Quote a name holding a comma as in CSV: '\"a, b\",c'.",
        callback=lambda ctx, param, value: parse_class_names(value),
    )


def num_classes_option():
    """``--num-classes K`` (when the top classes never occur in the labels)."""
    return click.option("--num-classes", type=click.IntRange(min=1), default=None,
                        help="Number of classes K (default: inferred from the labels).")


def seed_option(default=0):
    """``--seed N``."""
    return click.option("--seed", type=int, default=default, show_default=True,
                        help="Random seed (the same seed gives the same result).")


def overwrite_option(what="an existing export version"):
    """``--overwrite`` flag."""
    return click.option("--overwrite", is_flag=True, help=f"Replace {what}.")


def duplicates_option():
    """``--duplicates error|first|last`` (long/JSON labels)."""
    return click.option(
        "--duplicates", type=click.Choice(("error", "first", "last")), default="error",
        show_default=True,
        help="A worker who labelled a task twice (long/JSON labels): fail, or keep the first "
             "or last label.")
