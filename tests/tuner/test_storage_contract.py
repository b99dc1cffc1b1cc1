"""The storage contract (`tuner.testing.StorageContract`) on every backend tests can reach.

`storage_url` is the fixture of tests/conftest.py: a fresh root on the local disk, in memory
(``memory://``) and on moto's S3 server on 127.0.0.1 (``s3://``), in turn.
"""

from __future__ import annotations

from tuner.testing import StorageContract


class TestStorage(StorageContract):
    pass
