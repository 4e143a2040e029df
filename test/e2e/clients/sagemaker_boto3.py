"""Drives Spillway's SageMaker InvokeEndpoint route with boto3's own sagemaker-runtime client.

usage: sagemaker_boto3.py URL VARIANT TASK API_KEY IMAGE
boto3 signs with SigV4 and cannot send x-api-key by itself: a before-sign event hook adds it
(the documented way, controller/README.md). Prints one JSON object for the vitest e2e test.
"""
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

url, variant, task, api_key, image_path = sys.argv[1:6]


def client(with_key):
    c = boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="spillway",
        aws_secret_access_key="unused-by-spillway",
        config=Config(retries={"max_attempts": 1}, read_timeout=120),
    )
    if with_key:
        def add_key(request, **_):
            request.headers["x-api-key"] = api_key

        c.meta.events.register("before-sign.sagemaker-runtime.InvokeEndpoint", add_key)
    return c


sm = client(True)
with open(image_path, "rb") as f:
    jpeg = f.read()
out = {}

r = sm.invoke_endpoint(EndpointName=variant, ContentType="image/jpeg", Accept="application/json", Body=jpeg)
out["variant"] = {"invoked": r.get("InvokedProductionVariant"), "contentType": r["ContentType"], "body": json.loads(r["Body"].read())}

r = sm.invoke_endpoint(
    EndpointName=task,
    ContentType="application/x-image",
    Body=jpeg,
    CustomAttributes="slo_ms=20000,min_accuracy=0,top_k=2",
)
out["modelless"] = {"invoked": r.get("InvokedProductionVariant"), "body": json.loads(r["Body"].read())}

import base64

body = json.dumps({"input": {"image": base64.b64encode(jpeg).decode()}, "topK": 1})
r = sm.invoke_endpoint(EndpointName=variant, ContentType="application/json", Body=body)
out["json"] = json.loads(r["Body"].read())


def error_of(fn):
    try:
        fn()
        return None
    except ClientError as e:
        return {
            "code": e.response["Error"]["Code"],
            "message": e.response["Error"]["Message"],
            "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
            "text": str(e),
        }


out["bad_attribute"] = error_of(lambda: sm.invoke_endpoint(EndpointName=variant, ContentType="image/jpeg", Body=jpeg, CustomAttributes="slo_ms=fast"))
out["unknown_endpoint"] = error_of(lambda: sm.invoke_endpoint(EndpointName="no-such-endpoint", ContentType="image/jpeg", Body=jpeg))
out["bad_content_type"] = error_of(lambda: sm.invoke_endpoint(EndpointName=variant, ContentType="text/csv", Body=b"1,2,3"))
out["bad_image"] = error_of(lambda: sm.invoke_endpoint(EndpointName=variant, ContentType="image/jpeg", Body=b"not a jpeg at all"))
out["no_key"] = error_of(lambda: client(False).invoke_endpoint(EndpointName=variant, ContentType="image/jpeg", Body=jpeg))

print(json.dumps(out))
