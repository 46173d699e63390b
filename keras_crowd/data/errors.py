"""Exceptions and warnings raised while reading or validating crowd labels.

Every error is a `ValueError` subclass, so callers that already catch
`ValueError` keep working, while callers that want to react to one specific
problem can catch the narrower class.
"""


class CrowdDataError(ValueError):
    """Base class for malformed crowd-label data."""


class LabelOutOfRangeError(CrowdDataError):
    """An integer label is not in `[0, num_classes)` (and is not missing)."""


class UnknownClassError(CrowdDataError):
    """A class name is not in the known `class_names`."""


class UnknownIdError(CrowdDataError):
    """A task or annotator id is not in the vocabulary it was given."""


class DuplicateLabelError(CrowdDataError):
    """One annotator labelled the same task more than once."""


class EmptyTaskError(CrowdDataError):
    """A task has no label at all (raised only with `empty_tasks="error"`)."""


class EmptyTaskWarning(UserWarning):
    """A task has no label at all; it is kept (default policy)."""


class ClassZeroWithoutLabelsWarning(UserWarning):
    """Integer labels read as class indices hold no 0: classes numbered from 1
    would each be read as the next class, with an empty class 0."""
