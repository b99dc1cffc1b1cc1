"""Shared fixtures: storage roots on the local disk, in memory, and on a loopback S3 server.

The S3 server is moto's standalone server bound to 127.0.0.1; nothing leaves the machine. The
endpoint reaches s3fs through fsspec's ``FSSPEC_S3_ENDPOINT_URL`` environment variable (inherited
by worker subprocesses) and, for this process, fsspec's already-loaded config dict.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fsspec
import fsspec.config
import pytest


@dataclass(frozen=True)
class S3Server:
    """A running loopback S3 server.

    Attributes:
        endpoint_url: ``http://127.0.0.1:<port>``.
    """

    endpoint_url: str


_S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Real credentials or profiles on the machine must not leak into (or break) the tests.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}
_S3_ENV_REMOVED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def _clear_s3fs_cache() -> None:
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A moto S3 server on 127.0.0.1 with test credentials and fsspec's endpoint set."""
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint_url = f"http://{host}:{port}"

    saved_env = {
        k: os.environ.get(k) for k in [*_S3_ENV, *_S3_ENV_REMOVED, "FSSPEC_S3_ENDPOINT_URL"]
    }
    saved_conf = dict(fsspec.config.conf.get("s3", {}))
    os.environ.update(_S3_ENV)
    os.environ["FSSPEC_S3_ENDPOINT_URL"] = endpoint_url
    for key in _S3_ENV_REMOVED:
        os.environ.pop(key, None)
    # fsspec read FSSPEC_* variables when it was imported; update its dict for this process.
    fsspec.config.conf.setdefault("s3", {})["endpoint_url"] = endpoint_url
    _clear_s3fs_cache()
    try:
        yield S3Server(endpoint_url=endpoint_url)
    finally:
        _clear_s3fs_cache()
        fsspec.config.conf["s3"] = saved_conf
        if not saved_conf:
            del fsspec.config.conf["s3"]
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()
        # moto's stop() shuts the server loop down but leaves its socket open.
        if server._server is not None:
            server._server.server_close()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> Iterator[str]:
    """A fresh, uniquely named bucket on the loopback server, as ``s3://<bucket>``."""
    import s3fs

    _clear_s3fs_cache()
    fs = s3fs.S3FileSystem()
    bucket = f"tuner-test-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    try:
        yield f"s3://{bucket}"
    finally:
        fs.invalidate_cache()
        fs.rm(bucket, recursive=True)
        _clear_s3fs_cache()


@pytest.fixture
def memory_storage() -> Iterator[str]:
    """A unique ``memory://`` root, removed afterwards."""
    root = f"tuner-test-{uuid.uuid4().hex[:12]}"
    yield f"memory://{root}"
    fs = fsspec.filesystem("memory")
    if fs.exists(f"/{root}"):
        fs.rm(f"/{root}", recursive=True)


@pytest.fixture(params=["local", "memory", "s3"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A storage root on each backend in turn: local directory, ``memory://``, ``s3://``."""
    if request.param == "local":
        return str(tmp_path / "storage")
    if request.param == "memory":
        return str(request.getfixturevalue("memory_storage"))
    return str(request.getfixturevalue("s3_bucket")) + "/runs"
