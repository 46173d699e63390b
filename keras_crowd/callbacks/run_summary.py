"""One line per `fit`: what was trained, for how long, and its best monitored score.

`keras-crowd train` trains many models in one command (one per candidate
lambda, then the other ensemble members, then the baseline). Keras's own
progress output prints every epoch of every one of them; this callback prints
a single line when each `fit` ends instead.
"""

import math
import time

import keras

MODES = ("auto", "min", "max")


def _higher_is_better(monitor, mode):
    """Whether a larger `monitor` value is better, as Keras's callbacks decide."""
    if mode != "auto":
        return mode == "max"
    return "acc" in monitor or "auc" in monitor


@keras.saving.register_keras_serializable(package="keras_crowd")
class RunSummary(keras.callbacks.Callback):
    """Prints one line per `fit`: the model, its epochs, its best score and time.

    The same instance can be passed to several `fit` calls; it numbers them.
    The score is `monitor` from the epoch logs (by default the held-out
    crowd-label NLL logged by `keras_crowd.selection.HeldOutCrowdLikelihood`,
    which must come before this callback in the list); when it is absent the
    line reports the last `loss` instead.

    Args:
        monitor: Epoch-log key to report the best value of.
        mode: `"min"` (the lowest value is best), `"max"`, or `"auto"`:
            `"max"` for a key naming an accuracy or AUC (`"acc"` or `"auc"`
            in it, e.g. `"val_accuracy"`), else `"min"` (a loss or NLL).
        print_fn: Called with each line (default `print`).

    Example:

    >>> summary = RunSummary()
    >>> model.fit(x, crowd_labels, epochs=20, verbose=0,
    ...           callbacks=[HeldOutCrowdLikelihood(x, heldout), summary])
    fit 1: CrowdModel, GeoCrowdNetF(strength=0.1), 20 epochs, best heldout_crowd_nll 1.0412 at epoch 18, 2.3 s
    """

    def __init__(self, monitor="heldout_crowd_nll", mode="auto", print_fn=print):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; got {mode!r}.")
        self.monitor = monitor
        self.mode = mode
        self._sign = -1.0 if _higher_is_better(monitor, mode) else 1.0
        self.print_fn = print_fn
        self.fits_ended = 0
        self._reset()

    def _reset(self):
        self._started = time.perf_counter()
        self._seconds = None
        self._epochs = 0
        self._best, self._best_epoch, self._last_loss = self._sign * math.inf, None, None

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self._epochs += 1
        if logs.get("loss") is not None:
            self._last_loss = float(logs["loss"])
        score = logs.get(self.monitor)
        if score is not None and self._sign * float(score) < self._sign * self._best:
            self._best, self._best_epoch = float(score), epoch + 1

    def on_train_end(self, logs=None):
        self._seconds = time.perf_counter() - self._started
        self.fits_ended += 1
        self.print_fn(self.describe())

    def describe(self):
        """The line for the `fit` that ended last (while one runs: so far)."""
        seconds = self._seconds
        if seconds is None:
            seconds = time.perf_counter() - self._started
        if self._best_epoch is not None:
            score = f"best {self.monitor} {self._best:.4f} at epoch {self._best_epoch}"
        elif self._last_loss is not None:
            score = f"last loss {self._last_loss:.4f}"
        else:
            score = "no epoch logs"
        return (f"fit {self.fits_ended}: {describe_model(self.model)}, "
                f"{self._epochs} epochs, {score}, {seconds:.1f} s")

    def get_config(self):
        return {"monitor": self.monitor, "mode": self.mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def describe_model(model):
    """`"CrowdModel, GeoCrowdNetF(strength=0.1)"`, or the model's class name.

    Args:
        model: A `keras.Model`, or `None`.

    Example:

    >>> describe_model(CrowdModel(backbone, 5))
    'CrowdModel, no regularizer'
    """
    if model is None:
        return "no model"
    description = type(model).__name__
    regularizers = getattr(model, "regularizer", None)
    if regularizers is None:
        regularizers = []
    elif not isinstance(regularizers, (list, tuple)):
        regularizers = [regularizers]
    if not regularizers and hasattr(model, "confusion_matrices"):
        description += ", no regularizer"
    for regularizer in regularizers:
        strength = getattr(regularizer, "strength", None)
        detail = "" if strength is None else f"(strength={float(strength):g})"
        description += f", {type(regularizer).__name__}{detail}"
    return description
