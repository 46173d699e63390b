"""The sizes every holder of an (N, M) crowd-label matrix reports."""


class CrowdShape:
    """Mixin: `num_items` (N) and `num_annotators` (M) of `self.crowd_labels`.

    Example:

    >>> @dataclasses.dataclass
    ... class Crowd(CrowdShape):
    ...     crowd_labels: np.ndarray
    >>> Crowd(np.full((3, 2), -1)).num_annotators
    2
    """

    @property
    def num_items(self):
        """N, the number of items (rows of `crowd_labels`)."""
        return self.crowd_labels.shape[0]

    @property
    def num_annotators(self):
        """M, the number of annotators (columns of `crowd_labels`)."""
        return self.crowd_labels.shape[1]
