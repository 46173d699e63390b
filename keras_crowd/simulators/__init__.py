"""Synthetic annotators with known confusion matrices.

The paper's annotator types (`simulate_annotators(true_labels, kind, ...)`):
``"separable_uniform"``, ``"diagonally_dominant"``, ``"hammer_spammer"``,
``"class_experts"``, ``"symmetric_flip"``; and machine annotators, small
classifiers trained on small subsets (`simulate_machine_annotators`). All
are seeded and return a `SimulatedCrowd` holding the labels and the true
(M, K, K) column-stochastic confusion matrices. NumPy only; TensorFlow
Probability is used only with ``backend="tfp"``.

Example:

>>> from keras_crowd import simulators
>>> crowd = simulators.simulate_annotators(
...     [0, 1, 2] * 100, "diagonally_dominant", num_annotators=10, labels_per_item=3,
...     seed=0, expertise=0.7)
>>> crowd.crowd_labels.shape, crowd.confusion_matrices.shape
((300, 10), (10, 3, 3))
"""

from keras_crowd.simulators.confusion_matrices import CONFUSION_GENERATORS
from keras_crowd.simulators.confusion_matrices import check_confusion_matrices
from keras_crowd.simulators.confusion_matrices import class_expert_confusions
from keras_crowd.simulators.confusion_matrices import diagonally_dominant_confusions
from keras_crowd.simulators.confusion_matrices import hammer_spammer_confusions
from keras_crowd.simulators.confusion_matrices import separable_uniform_confusions
from keras_crowd.simulators.confusion_matrices import symmetric_flip_confusions
from keras_crowd.simulators.machine_annotators import fit_softmax_regression
from keras_crowd.simulators.machine_annotators import predict_softmax_regression
from keras_crowd.simulators.machine_annotators import simulate_machine_annotators
from keras_crowd.simulators.observation import observation_mask
from keras_crowd.simulators.sampling import sample_crowd_labels
from keras_crowd.simulators.sampling import simulate_annotators
from keras_crowd.simulators.simulated_crowd import SimulatedCrowd
