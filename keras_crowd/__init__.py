"""keras_crowd: Keras layers and models for learning from crowdsourced labels.

The core pieces:

- `CrowdLayer`: M column-stochastic confusion matrices on top of any
  classifier's class probabilities.
- `CrowdModel`: a `keras.Model` that trains a backbone from crowd labels
  with `fit`, masks missing labels, is exact under `tf.distribute`, and
  exports the classifier alone for TF Serving.
- `ClassifierEnsemble`: several trained classifiers averaged into one.
- `CommonConfusion`: optionally, a confusion matrix all annotators share,
  gated per item and annotator (CoNAL; `CrowdModel(common_confusion=True)`).
- `keras_crowd.regularizers`: GeoCrowdNet (F), GeoCrowdNet (W) and trace.

Around them: `data` (label formats), `datasets` (bundled real crowds),
`simulators`, `aggregation` (majority vote, Dawid-Skene), `metrics`,
`selection` (label-free model selection), `backbones` and `training`.
"""

import os

# TensorFlow prints its start-up banner at import unless told otherwise; a
# value the user has set is kept.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from keras_crowd import aggregation  # noqa: E402
from keras_crowd import backbones  # noqa: E402
from keras_crowd import data  # noqa: E402
from keras_crowd import datasets  # noqa: E402
from keras_crowd import initializers  # noqa: E402
from keras_crowd import losses  # noqa: E402
from keras_crowd import metrics  # noqa: E402
from keras_crowd import optimizers  # noqa: E402
from keras_crowd import regularizers  # noqa: E402
from keras_crowd import selection  # noqa: E402
from keras_crowd import simulators  # noqa: E402
from keras_crowd import training  # noqa: E402
from keras_crowd.export import export_classifier  # noqa: E402
from keras_crowd.layers import CommonConfusion  # noqa: E402
from keras_crowd.layers import CrowdLayer  # noqa: E402
from keras_crowd.models import ClassifierEnsemble  # noqa: E402
from keras_crowd.models import CrowdModel  # noqa: E402

__version__ = "0.1.0"
