"""LocalStack's health check in docker-compose.yml: healthy once Kinesis, DynamoDB and KMS answer in
every region the pipeline uses.

LocalStack starts an emulator (and downloads it, the first time) on its first request. Asking each
service here does that before the provisioning init container runs, so its first calls do not time
out. Usage: healthcheck.py ENDPOINT REGION...
"""

import json
import sys
import urllib.request

CALLS = (
    ("kinesis", "Kinesis_20131202.ListStreams", "application/x-amz-json-1.1"),
    ("dynamodb", "DynamoDB_20120810.ListTables", "application/x-amz-json-1.0"),
    ("kms", "TrentService.ListKeys", "application/x-amz-json-1.1"),
)


def call(endpoint, region, service, target, content_type):
    # LocalStack (and moto) route on the credential scope's region and service and do not check the
    # signature; the access key "test" is LocalStack's default account, the one the services use.
    scope = f"test/20240101/{region}/{service}/aws4_request"
    request = urllib.request.Request(
        endpoint.rstrip("/") + "/",
        data=b"{}",
        method="POST",
        headers={
            "Content-Type": content_type,
            "X-Amz-Target": target,
            "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(request, timeout=4) as response:
        json.load(response)


def main(endpoint, regions):
    failures = []
    for region in regions:
        for service, target, content_type in CALLS:
            try:
                call(endpoint, region, service, target, content_type)
            except Exception as error:  # noqa: BLE001 - any failure means not healthy yet
                failures.append(f"{service} in {region}: {error}")
    for failure in failures:
        print(failure)
    return 1 if failures or not regions else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]) if len(sys.argv) > 2 else 2)
