"""Write files so that a crash never leaves a half-written one behind."""

import contextlib
import os
import pathlib
import stat
import tempfile

# Linux reports the process umask here (since 4.7) without changing it.
_PROC_STATUS = "/proc/self/status"


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; move it into place on success.

    Write the file to the yielded path; when the block ends without an
    exception it replaces `path` in one `os.replace` (atomic on POSIX), so
    readers see either the old file or the complete new one. On an
    exception the temporary file is removed and `path` is untouched. The
    temporary name keeps every suffix (`.weights.h5`, `.tar.gz`), for
    writers that choose or check the format from it (`savefig`, `np.save`,
    `model.save`, `model.save_weights`). The new file gets the
    permissions of the file it replaces, or those a plain `open()` would
    give (`0o666` less the umask), not `mkstemp`'s owner-only `0o600`.

    Args:
        path: The file to write; missing parent folders are created.

    Example:

    >>> with atomic_path("runs/report.csv") as temporary:
    ...     frame.to_csv(temporary)
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name[:len(path.name) - len(suffix)]}.", suffix=suffix, dir=path.parent
    )
    os.close(handle)
    try:
        yield temporary
        os.chmod(temporary, _target_mode(path))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _target_mode(path):
    """The permission bits `path` should end with: its own, or the default."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def current_umask():
    """The process umask, read without changing it where the OS allows.

    Reads `/proc/self/status` on Linux. Elsewhere it falls back to setting
    and restoring the umask with `os.umask`, which another thread creating
    a file at that instant could observe.

    Returns:
        The umask, an int such as `0o022`.
    """
    try:
        with open(_PROC_STATUS, encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o077)
    os.umask(umask)
    return umask


def write_text_atomic(path, text):
    """Write `text` (UTF-8) to `path` atomically; returns the path."""
    with atomic_path(path) as temporary:
        pathlib.Path(temporary).write_text(text, encoding="utf-8")
    return path
