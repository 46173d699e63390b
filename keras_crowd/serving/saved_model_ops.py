"""Which TensorFlow ops an exported SavedModel needs at serving time.

TF Serving runs a SavedModel with the C++ runtime only: every op in its
graphs must be a core TensorFlow op. An op that calls back into Python
(`tf.py_function`, `tf.numpy_function`: `EagerPyFunc`, `PyFunc`,
`PyFuncStateless`) or a custom op from a shared library cannot run there.
This module lists the ops of every graph in `saved_model.pb` (the graph
nodes and all functions of the library) and reports those that TF Serving
cannot run.
"""

import os

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


def saved_model_op_names(path):
    """The op types used by all graphs and functions of a SavedModel.

    Calls of library functions (a node whose op is a function name) are
    not ops; the function's own nodes are listed instead.

    Args:
        path: The SavedModel directory (holding `saved_model.pb`).

    Returns:
        A sorted list of op type names.

    Example:

    >>> saved_model_op_names("saved_models/music/1")
    ['ArgMax', 'AssignVariableOp', 'BiasAdd', 'Const', ...]
    """
    proto_path = os.path.join(os.fspath(path), "saved_model.pb")
    if not os.path.exists(proto_path):
        raise FileNotFoundError(f"No saved_model.pb in {path}.")
    saved_model = saved_model_pb2.SavedModel()
    with open(proto_path, "rb") as handle:
        saved_model.ParseFromString(handle.read())
    ops, functions = set(), set()
    for meta_graph in saved_model.meta_graphs:
        graph = meta_graph.graph_def
        ops.update(node.op for node in graph.node)
        for function in graph.library.function:
            functions.add(function.signature.name)
            ops.update(node.op for node in function.node_def)
    return sorted(ops - functions)


def core_op_names():
    """Names of the ops built into TensorFlow (`tf.raw_ops`)."""
    return frozenset(name for name in dir(tf.raw_ops) if not name.startswith("_"))


def unservable_ops(path):
    """Ops of a SavedModel that TF Serving's C++ runtime cannot run.

    Args:
        path: The SavedModel directory.

    Returns:
        A sorted list: Python-callback ops (`PyFunc`, `EagerPyFunc`, ...)
        and ops that are not built into TensorFlow (custom ops). Empty for
        a servable model.

    Example:

    >>> assert not unservable_ops("saved_models/music/1")
    """
    core = core_op_names()
    return sorted(
        op for op in saved_model_op_names(path) if op in PYTHON_OPS or op not in core
    )
