"""Models of keras_crowd."""

from keras_crowd.models.crowd_model import CrowdModel
