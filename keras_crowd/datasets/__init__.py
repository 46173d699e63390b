"""Real crowdsourced datasets, offline.

- `music()`: Music genre, 700 songs, 44 AMT workers, 10 genres (bundled).
- `labelme()`: LabelMe scenes, 1000 images, 59 annotators, 8 classes (bundled).
- `fashion_mnist()`: Fashion-MNIST images from Debian's package, for
  synthetic annotators (`keras_crowd.simulators`).

Nothing is downloaded. The bundled files and their provenance are in
``keras_crowd/datasets/data/`` (``PROVENANCE.md``); the script
`keras_crowd.datasets.build_bundled_data` regenerates them from the raw files.
"""

from keras_crowd.datasets.preprocessing import standardize_features
from keras_crowd.datasets.dataset import CrowdDataset
from keras_crowd.datasets.fashion_mnist import FASHION_MNIST_CLASS_NAMES
from keras_crowd.datasets.fashion_mnist import fashion_mnist
from keras_crowd.datasets.fashion_mnist import read_idx
from keras_crowd.datasets.labelme import labelme
from keras_crowd.datasets.music import music
