"""Initializers for the confusion-matrix logits of a `CrowdLayer`."""

from keras_crowd.initializers.confusion_initializers import ConfusionMatricesInitializer
from keras_crowd.initializers.confusion_initializers import DiagonallyDominant
from keras_crowd.initializers.confusion_initializers import IdentityLogits
from keras_crowd.initializers.confusion_initializers import get
