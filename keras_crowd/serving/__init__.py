"""Serve exported classifiers with TF Serving: request/response conversion.

- `rest_format`: TF Serving's REST JSON (row "instances" and columnar
  "inputs" requests; "predictions"/"outputs" responses) <-> tensors.
- `grpc_format`: `PredictRequest`/`PredictResponse` protos <-> tensors
  (needs `tensorflow-serving-api`, imported lazily).
- `saved_model_ops`: the ops an export needs; none may be Python or custom.

See docs/serving.md for the docker command, models.config and clients.
"""

from keras_crowd.serving.rest_format import outputs_to_rest_response
from keras_crowd.serving.rest_format import rest_request_to_inputs
from keras_crowd.serving.rest_format import rest_response_to_outputs
from keras_crowd.serving.saved_model_ops import saved_model_op_names
from keras_crowd.serving.saved_model_ops import unservable_ops
