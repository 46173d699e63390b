"""Model selection from crowd labels alone (no clean validation labels)."""

from keras_crowd.selection.heldout import HeldOutCrowdLikelihood
from keras_crowd.selection.heldout import heldout_crowd_nll
from keras_crowd.selection.heldout import heldout_label_nlls
from keras_crowd.selection.heldout import split_heldout_items
from keras_crowd.selection.heldout import split_observed_labels
from keras_crowd.selection.strength import StrengthCandidate
from keras_crowd.selection.strength import choose_strength
