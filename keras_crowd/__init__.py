"""keras_crowd: Keras layers and models for learning from crowdsourced labels.

The core pieces:

- `CrowdLayer`: M column-stochastic confusion matrices on top of any
  classifier's class probabilities.
- `CrowdModel`: a `keras.Model` that trains a backbone from crowd labels
  with `fit`, masks missing labels, is exact under `tf.distribute`, and
  exports the classifier alone for TF Serving.
- `keras_crowd.regularizers`: GeoCrowdNet (F), GeoCrowdNet (W) and trace.

Around them: `data` (label formats), `datasets` (bundled real crowds),
`simulators`, `aggregation` (majority vote, Dawid-Skene), `metrics`,
`selection` (label-free model selection), `backbones` and `training`.
"""

from keras_crowd import aggregation
from keras_crowd import backbones
from keras_crowd import data
from keras_crowd import datasets
from keras_crowd import initializers
from keras_crowd import losses
from keras_crowd import metrics
from keras_crowd import optimizers
from keras_crowd import regularizers
from keras_crowd import selection
from keras_crowd import simulators
from keras_crowd import training
from keras_crowd.export import export_classifier
from keras_crowd.layers import CrowdLayer
from keras_crowd.models import CrowdModel

__version__ = "0.1.0"
