"""The coupled cross-entropy over observed crowd labels."""

from keras_crowd.losses.coupled_cross_entropy import label_cross_entropy
from keras_crowd.losses.coupled_cross_entropy import observed_label_cross_entropy
from keras_crowd.losses.coupled_cross_entropy import observed_label_probabilities
