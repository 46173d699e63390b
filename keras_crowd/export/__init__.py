"""Export of the denoised classifier for TF Serving."""

from keras_crowd.export.classifier_export import export_classifier
from keras_crowd.export.classifier_export import serving_input_signature
