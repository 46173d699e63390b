"""keras_crowd: Keras layers and models for learning from crowdsourced labels.

The core pieces:

- `CrowdLayer`: M column-stochastic confusion matrices on top of any
  classifier's class probabilities.
- `CrowdModel`: a `keras.Model` that trains a backbone from crowd labels
  with `fit`, masks missing labels, is exact under `tf.distribute`, and
  exports the classifier alone for TF Serving.
- `keras_crowd.regularizers`: GeoCrowdNet (F), GeoCrowdNet (W) and trace.
"""

from keras_crowd import initializers
from keras_crowd import losses
from keras_crowd import regularizers
from keras_crowd.layers import CrowdLayer
from keras_crowd.models import CrowdModel
from keras_crowd.export import export_classifier

__version__ = "0.1.0"
