"""Keras layers of keras_crowd."""

from keras_crowd.layers.crowd_layer import CrowdLayer
