# The grader's side in Python: loads a student's file, runs the cases it is sent, and reports each as one JSON line.
# Protocol: argv[1] is the student's file; standard input holds {"class": NAME, "cases": [{...}, ...]}; every result
# goes to the original standard output as one line; the student's own prints go to standard error.
import json
import os
import sys
import traceback

real_out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)                      # the student's print() goes to standard error, never into the protocol
sys.stdout = sys.stderr


def send(obj):
    real_out.write(json.dumps(obj, allow_nan=False) + "\n")
    real_out.flush()


MAX_ELEMENTS = 16384     # the grader reads back no larger array (Channel.MaxElements); a larger one is named by its shape
MAX_TEXT = 60000         # nor a longer traceback


def limit_resources():
    # Soft and hard limits alike, so that the student's code cannot raise them again.
    import resource
    limits = [(resource.RLIMIT_AS, "BACKPROP_GRADE_MEMORY"), (resource.RLIMIT_FSIZE, "BACKPROP_GRADE_FILE_SIZE"),
              (resource.RLIMIT_NPROC, "BACKPROP_GRADE_PROCESSES")]
    for which, name in limits:
        if name in os.environ:
            value = int(os.environ[name])
            resource.setrlimit(which, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def encode(v, np):
    if v is None:
        return {"type": "None"}
    if np.isscalar(v) or (isinstance(v, np.ndarray) and v.ndim == 0):
        try:
            return {"shape": [], "data": [float(v)]}
        except Exception:
            return {"type": type(v).__name__[:100]}
    try:
        a = np.asarray(v, dtype=float)
    except Exception:
        return {"type": type(v).__name__[:100]}
    if a.size > MAX_ELEMENTS or a.ndim > 8:
        return {"type": "an array of shape " + str(a.shape)[:150] + ", too large to send"}
    return {"shape": list(a.shape), "data": [finite_or_name(x) for x in a.ravel().tolist()]}


def finite_or_name(x):
    # JSON has no NaN or infinity: they travel as the strings the C# side reads back as numbers.
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def main():
    limit_resources()
    request = json.load(sys.stdin)
    try:
        import numpy as np
    except Exception:
        send({"load_error": "numpy is not installed for " + sys.executable})
        return
    import importlib.util
    path = sys.argv[1]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        spec = importlib.util.spec_from_file_location("student_solution", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except BaseException:
        send({"load_error": traceback.format_exc(limit=-8)[-MAX_TEXT:]})
        return
    classes = [n for n in ("FullyConnected", "Affine", "Relu", "Sigmoid", "Tanh", "SoftmaxWithLoss") if isinstance(getattr(module, n, None), type)]
    send({"classes": classes})
    cls = getattr(module, request["class"], None)
    if cls is None:
        return
    for case in request["cases"]:
        result = {}
        try:
            arr = {k: np.array(v["data"], dtype=np.float64).reshape(v["shape"]) for k, v in case.items() if isinstance(v, dict)}
            if "W" in arr:
                layer = cls(arr["W"].copy(), arr["b"].copy())
            else:
                layer = cls()
            if "t" in arr:
                t = arr["t"] if case.get("t_kind") == "one_hot" else arr["t"].astype(np.int64)
                result["y"] = encode(layer.forward(arr["x"].copy(), t), np)
                result["dx"] = encode(layer.backward(), np)
            else:
                dout = arr["dout"].copy()
                result["y"] = encode(layer.forward(arr["x"].copy()), np)
                result["dx"] = encode(layer.backward(dout), np)
                result["dout_modified"] = bool(not np.array_equal(dout, arr["dout"]))
            if "W" in arr:
                result["dW"] = encode(getattr(layer, "dW", None), np)
                result["db"] = encode(getattr(layer, "db", None), np)
        except BaseException:
            result["error"] = traceback.format_exc(limit=-6)[-MAX_TEXT:]
        send(result)


main()
