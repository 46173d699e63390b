"""Label aggregation: majority vote and Dawid-Skene, with a crowd-kit-shaped API.

Example:

>>> from keras_crowd.aggregation import DawidSkene, MajorityVote
>>> crowd = [[0, 0, 1], [1, 1, -1], [2, 2, 2]]
>>> MajorityVote().fit_predict(crowd).tolist()
[0, 1, 2]
>>> DawidSkene(n_iter=50).fit(crowd).confusion_matrices_.shape
(3, 3, 3)
"""

from keras_crowd.aggregation.base import Aggregator
from keras_crowd.aggregation.dawid_skene import DawidSkene
from keras_crowd.aggregation.dawid_skene import estimate_confusion_matrices
from keras_crowd.aggregation.majority_vote import MajorityVote
from keras_crowd.aggregation.majority_vote import majority_vote_probas
from keras_crowd.aggregation.targets import get_aggregator
from keras_crowd.aggregation.targets import hard_labels
from keras_crowd.aggregation.targets import one_hot_labels
from keras_crowd.aggregation.targets import soft_labels
