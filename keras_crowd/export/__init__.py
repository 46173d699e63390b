"""Export of the denoised classifier for TF Serving."""

from keras_crowd.export.classifier_export import export_classifier
