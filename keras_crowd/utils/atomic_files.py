"""Write files so that a crash never leaves a half-written one behind."""

import contextlib
import os
import pathlib
import tempfile


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; move it into place on success.

    Write the file to the yielded path; when the block ends without an
    exception it replaces `path` in one `os.replace` (atomic on POSIX), so
    readers see either the old file or the complete new one. On an
    exception the temporary file is removed and `path` is untouched. The
    temporary name keeps the suffix, for writers that choose the format
    from it (`savefig`, `np.save`, `model.save`).

    Args:
        path: The file to write; missing parent folders are created.

    Example:

    >>> with atomic_path("runs/report.csv") as temporary:
    ...     frame.to_csv(temporary)
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent
    )
    os.close(handle)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text_atomic(path, text):
    """Write `text` (UTF-8) to `path` atomically; returns the path."""
    with atomic_path(path) as temporary:
        pathlib.Path(temporary).write_text(text, encoding="utf-8")
    return path
