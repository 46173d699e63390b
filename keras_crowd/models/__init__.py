"""Models of keras_crowd."""

from keras_crowd.models.classifier_ensemble import ClassifierEnsemble
from keras_crowd.models.crowd_model import CrowdModel
