"""One-call training recipes for every method keras_crowd offers."""

from keras_crowd.training.input_pipeline import epoch_dataset
from keras_crowd.training.recipes import CROWD_METHODS
from keras_crowd.training.recipes import DEFAULT_ENSEMBLE_SIZE
from keras_crowd.training.recipes import DEFAULT_METHOD
from keras_crowd.training.recipes import DEFAULT_STRENGTHS
from keras_crowd.training.recipes import DEFAULT_WARMUP_EPOCHS
from keras_crowd.training.recipes import METHODS
from keras_crowd.training.recipes import STRENGTH_GRIDS
from keras_crowd.training.recipes import TrainingResult
from keras_crowd.training.recipes import train_crowd_classifier
