"""Keras layers of keras_crowd."""

from keras_crowd.layers.common_confusion import CommonConfusion
from keras_crowd.layers.crowd_layer import CrowdLayer
