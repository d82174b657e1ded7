"""An S3-compatible server (moto in server mode) on 127.0.0.1 for the object-storage tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("moto", reason="the object-storage tests need the test extra (moto server)")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # the Ray tests: no usage reports from CI


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A moto S3 server for this session; the AWS_* variables point every client at it."""
    port = _free_port()
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"moto-{port}.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"the moto S3 server did not start (see {log.name})")
            time.sleep(0.1)
    saved = {name: os.environ.get(name) for name in _S3_ENVIRONMENT}
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
        AWS_ALLOW_HTTP="true",
        AWS_EC2_METADATA_DISABLED="true",
    )
    try:
        yield endpoint
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.terminate()
        server.wait(10)
        log.close()


_S3_ENVIRONMENT = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ALLOW_HTTP",
    "AWS_EC2_METADATA_DISABLED",
)


@pytest.fixture
def bucket(s3_server: str) -> str:
    """A new, empty bucket: s3://NAME."""
    import boto3

    name = f"shashin-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=name)
    return f"s3://{name}"


def upload_folder(folder: Path, prefix: str) -> list[str]:
    """Copy every file under `folder` to s3://bucket/prefix/..., keeping relative paths; their URIs."""
    from shashin import storage

    uris = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        uri = storage.join(prefix, *path.relative_to(folder).parts)
        storage.write_bytes(uri, path.read_bytes())
        uris.append(uri)
    return uris
