"""Ready-made classifiers `f`: the ones the GeoCrowdNet authors used."""

from keras_crowd.backbones.mlp import labelme_classifier
from keras_crowd.backbones.mlp import mlp_classifier
from keras_crowd.backbones.mlp import music_classifier
