"""Drives Spillway's Open Inference Protocol routes with NVIDIA's own client (tritonclient[http]).

usage: triton_http.py URL MODEL TASK API_KEY IMAGE
Prints one JSON object with what the client saw; test/e2e/protocols.test.ts asserts on it.
"""
import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

def text(x):
    """BYTES elements come back as bytes from binary outputs and as str from JSON ones."""
    return x.decode() if isinstance(x, bytes) else x


url, model, task, api_key, image_path = sys.argv[1:6]
# A fresh dict per call: tritonclient writes Inference-Header-Content-Length into the headers dict
# it is given, so a reused dict makes the next JSON request claim a binary tail it does not have.
key = {"x-api-key": api_key}
client = httpclient.InferenceServerClient(url=url.removeprefix("http://"), network_timeout=120.0)
out = {}

out["live"] = client.is_server_live()
out["ready"] = client.is_server_ready()
out["server"] = client.get_server_metadata(headers=dict(key))
meta = client.get_model_metadata(model, headers=dict(key))
out["metadata"] = meta
out["model_ready"] = client.is_model_ready(model, headers=dict(key))
try:
    client.get_server_metadata(headers={"x-api-key": "wrong-key-wrong"})
    out["wrong_key_error"] = None
except InferenceServerException as e:
    out["wrong_key_error"] = {"status": e.status(), "message": e.message()}

spec = meta["inputs"][0]
shape = [1 if d == -1 else d for d in spec["shape"]]
np_type = {"FP32": np.float32, "UINT8": np.uint8, "FP16": np.float16}[spec["datatype"]]
rng = np.random.default_rng(7)
if spec["datatype"] == "UINT8":
    tensor = rng.integers(0, 256, size=shape, dtype=np.uint8)
else:
    tensor = rng.standard_normal(size=shape).astype(np_type)


def infer_tensor(binary):
    inp = httpclient.InferInput(spec["name"], shape, spec["datatype"])
    inp.set_data_from_numpy(tensor, binary_data=binary)
    outs = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in ("scores", "classes", "labels")]
    r = client.infer(model, [inp], outputs=outs, headers=dict(key))
    return {
        "scores": r.as_numpy("scores").tolist(),
        "classes": r.as_numpy("classes").tolist(),
        "labels": [[text(x) for x in row] for row in r.as_numpy("labels")],
        "response": r.get_response(),
    }


out["tensor_binary"] = infer_tensor(True)
out["tensor_json"] = infer_tensor(False)

# The encoded photo as a BYTES tensor (binary by default), Triton's classification extension.
with open(image_path, "rb") as f:
    jpeg = f.read()
img = httpclient.InferInput("image", [1], "BYTES")
img.set_data_from_numpy(np.array([jpeg], dtype=np.object_))
r = client.infer(model, [img], outputs=[httpclient.InferRequestedOutput("scores", class_count=3)], headers=dict(key))
out["image_classification"] = [text(x) for x in r.as_numpy("scores")[0]]

# Default outputs (none requested): tritonclient asks for binary_data_output.
r = client.infer(model, [img], headers=dict(key))
out["image_default_outputs"] = {n: r.as_numpy(n).shape[1] for n in ("scores", "classes", "labels")}

# Model-less: the model name is the task; SLO and accuracy floor as request parameters.
r = client.infer(task, [img], headers=dict(key), parameters={"slo_ms": 20000, "min_accuracy": 0, "top_k": 2})
out["modelless"] = {"parameters": r.get_response()["parameters"], "labels": [text(x) for x in r.as_numpy("labels")[0]]}

# Errors the client raises: wrong datatype, shape mismatch, unknown model.
def error_of(fn):
    try:
        fn()
        return None
    except InferenceServerException as e:
        return {"status": e.status(), "message": e.message()}


wrong_type = "INT32" if spec["datatype"] != "INT32" else "FP64"
bad = httpclient.InferInput(spec["name"], shape, wrong_type)
bad.set_data_from_numpy(np.zeros(shape, dtype=np.int32 if wrong_type == "INT32" else np.float64))
out["bad_datatype"] = error_of(lambda: client.infer(model, [bad], headers=dict(key)))
bad_shape = list(shape)
bad_shape[-1] += 1
bs = httpclient.InferInput(spec["name"], bad_shape, spec["datatype"])
bs.set_data_from_numpy(np.zeros(bad_shape, dtype=np_type))
out["bad_shape"] = error_of(lambda: client.infer(model, [bs], headers=dict(key)))
out["unknown_model"] = error_of(lambda: client.get_model_metadata("no-such-model", headers=dict(key)))

print(json.dumps(out))
