"""ConfusionMatrixImages: confusion matrices logged as TensorBoard image summaries."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_crowd import CrowdModel
from keras_crowd.backbones import mlp_classifier
from keras_crowd.callbacks import ConfusionMatrixImages
from keras_crowd.callbacks import confusion_matrix_images

NUM_CLASSES, NUM_ANNOTATORS = 3, 5


def crowd_data(num_items=64, seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, NUM_CLASSES, num_items)
    x = (np.eye(NUM_CLASSES)[truth] + 0.3 * rng.normal(size=(num_items, NUM_CLASSES)))
    labels = np.where(rng.random((num_items, NUM_ANNOTATORS)) < 0.8, truth[:, None], -1)
    labels[:, 0] = truth
    return x.astype("float32"), labels.astype("int32")


def image_events(log_dir):
    """(step, tag, plugin, string values) of every summary value in `log_dir`."""
    events = []
    for path in sorted(tf.io.gfile.glob(f"{log_dir}/events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                events.append((event.step, value.tag, value.metadata.plugin_data.plugin_name,
                               list(value.tensor.string_val)))
    return events


def fit_crowd_model(callback, epochs):
    x, labels = crowd_data()
    keras.utils.set_random_seed(0)
    model = CrowdModel(mlp_classifier(NUM_CLASSES, NUM_CLASSES, hidden_units=8, seed=0),
                       num_annotators=NUM_ANNOTATORS)
    model.compile(optimizer="adam")
    model.fit(x, labels, epochs=epochs, batch_size=32, verbose=0, callbacks=[callback])
    return model


def test_logs_one_image_per_annotator_each_epoch(tmp_path):
    callback = ConfusionMatrixImages(str(tmp_path), max_annotators=3, cell_pixels=4)
    model = fit_crowd_model(callback, epochs=2)
    events = image_events(tmp_path)
    assert [(step, tag, plugin) for step, tag, plugin, _ in events] == [
        (1, "confusion_matrices", "images"), (2, "confusion_matrices", "images")]
    width, height, *pngs = events[-1][3]
    assert (int(width), int(height)) == (12, 12)
    assert len(pngs) == 3  # max_annotators of the 5
    decoded = [tf.io.decode_png(png).numpy() for png in pngs]
    expected = confusion_matrix_images(model.confusion_matrices[:3], cell_pixels=4)
    np.testing.assert_array_equal(np.stack(decoded), expected)


def test_every_n_epochs_also_logs_the_last_epoch(tmp_path):
    fit_crowd_model(ConfusionMatrixImages(str(tmp_path), every_n_epochs=2), epochs=3)
    assert [step for step, *_ in image_events(tmp_path)] == [2, 3]


def test_an_early_stop_still_logs_the_last_epoch(tmp_path):
    class StopAfterThree(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch + 1 == 3

    x, labels = crowd_data()
    keras.utils.set_random_seed(0)
    model = CrowdModel(mlp_classifier(NUM_CLASSES, NUM_CLASSES, hidden_units=8, seed=0),
                       num_annotators=NUM_ANNOTATORS)
    model.compile(optimizer="adam")
    model.fit(x, labels, epochs=10, batch_size=32, verbose=0,
              callbacks=[StopAfterThree(), ConfusionMatrixImages(str(tmp_path), every_n_epochs=2)])
    assert [step for step, *_ in image_events(tmp_path)] == [2, 3]


def test_images_are_heatmaps_of_the_matrices():
    images = confusion_matrix_images(np.eye(2)[None], cell_pixels=2)
    assert images.shape == (1, 4, 4, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[0, 0, 0], [8, 48, 107])   # probability 1: dark blue
    np.testing.assert_array_equal(images[0, 0, 3], [255, 255, 255])  # probability 0: white
    with pytest.raises(ValueError, match="cell_pixels"):
        confusion_matrix_images(np.eye(2)[None], cell_pixels=0)


def test_needs_a_crowd_model(tmp_path):
    x, labels = crowd_data()
    classifier = mlp_classifier(NUM_CLASSES, NUM_CLASSES, hidden_units=4, seed=0)
    classifier.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="CrowdModel"):
        classifier.fit(x, labels[:, 0], epochs=1, verbose=0,
                       callbacks=[ConfusionMatrixImages(str(tmp_path))])


def test_config_round_trip_and_registration(tmp_path):
    callback = ConfusionMatrixImages(str(tmp_path), every_n_epochs=3, max_annotators=7)
    clone = ConfusionMatrixImages.from_config(callback.get_config())
    assert clone.get_config() == callback.get_config()
    registered = keras.saving.get_registered_object("keras_crowd>ConfusionMatrixImages")
    assert registered is ConfusionMatrixImages
    with pytest.raises(ValueError, match="every_n_epochs"):
        ConfusionMatrixImages(str(tmp_path), every_n_epochs=0)


@pytest.mark.parametrize("argument, value", [
    ("cell_pixels", 0), ("every_n_epochs", 2.5), ("max_annotators", True), ("cell_pixels", 2.9),
])
def test_refuses_a_setting_that_is_not_a_positive_integer_before_training(tmp_path, argument,
                                                                         value):
    # cell_pixels=0 used to fail only after the first epoch; 2.5 and True became 2 and 1.
    with pytest.raises(ValueError, match=f"`{argument}` must be a positive integer"):
        ConfusionMatrixImages(str(tmp_path), **{argument: value})
