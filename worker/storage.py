"""The BUCKET binding: a small object-storage interface implemented once, on boto3.

boto3 is blocking, so every call runs in a thread; boto errors never escape this module:
callers see ObjectNotFound or StorageUnavailable (transient: spool and retry, answer 503/451).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.utils import determine_content_length

T = TypeVar("T")
_MISSING = {"404", "NoSuchKey", "NotFound"}
# Two 8 MB parts in flight, not boto3's default ten: a 25 MB message must not cost 80 MB of buffers.
_UPLOADS = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=2)


class StorageError(Exception):
    """Base class of everything this module raises."""


class ObjectNotFound(StorageError):
    """The key does not exist in the bucket."""


class StorageUnavailable(StorageError):
    """The store did not answer or refused the request; the caller should retry later.

    `status` is the HTTP status it refused with, None when it gave no answer (unreachable, timed out,
    unconfigured): whether the request itself or the store is at fault (worker/intake/pipeline.py).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def content_key(prefix: str, data: bytes, suffix: str = "") -> str:
    """A content-addressed key: identical bytes always land on the same object."""
    digest = hashlib.sha256(data).hexdigest()
    return f"{prefix.strip('/')}/{digest[:2]}/{digest}{suffix}"


class _Unconfigured:
    """Stands in for the boto3 client when no endpoint is set: every call is 'unavailable'."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise StorageUnavailable("no S3 endpoint configured (set WORKER_S3_ENDPOINT or [bucket] endpoint)")

        return unavailable


def _no_continue_for_an_empty_body(params: dict[str, Any], **_: Any) -> None:
    """No `Expect: 100-continue` on an empty PUT: SeaweedFS answers it with a second status line that stays on the
    pooled connection, and the next request on that connection waited out the 20 s read timeout (audit BZ: an empty
    PDF attachment stalled the next email's upload). botocore's BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE does the same
    for the whole process."""
    body = params.get("body")
    if body is not None and determine_content_length(body) == 0:
        params["headers"].pop("Expect", None)


class Bucket:
    """put / get / exists / presign on one S3 bucket (SeaweedFS here, R2 in production)."""

    _client: Any

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        *,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        if not endpoint:  # never fall back to AWS: an unconfigured bucket is simply unavailable
            self._client = _Unconfigured()
            return
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=access_key or "worker",
            aws_secret_access_key=secret_key or "worker",
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=3,
                read_timeout=20,
                retries={"mode": "standard", "max_attempts": 3},
                max_pool_connections=16,
            ),
        )
        # After botocore's own handler (on every S3 call), which asks any PUT body for `Expect: 100-continue`, even
        # an empty one: a handler of the more specific before-call.s3.PutObject would run before it.
        self._client.meta.events.register_last("before-call.s3", _no_continue_for_an_empty_body)

    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store bytes under key; returns the key."""
        await self._call(self._client.put_object, Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        return key

    async def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> str:
        """Stream a local file to key (multipart for large files) without reading it into memory."""
        extra = {"ContentType": content_type}
        await self._call(self._client.upload_file, str(path), self.bucket, key, ExtraArgs=extra, Config=_UPLOADS)
        return key

    async def get(self, key: str) -> bytes:
        """Return the object's bytes, or raise ObjectNotFound."""

        def read() -> bytes:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            with response["Body"] as body:
                return body.read()

        return await self._call(read)

    async def exists(self, key: str) -> bool:
        """True if the key exists."""
        try:
            await self._call(self._client.head_object, Bucket=self.bucket, Key=key)
        except ObjectNotFound:
            return False
        return True

    async def presign(self, key: str, expires_seconds: int = 300) -> str:
        """A short-lived GET URL for the object."""
        params = {"Bucket": self.bucket, "Key": key}
        return await self._call(
            self._client.generate_presigned_url, "get_object", Params=params, ExpiresIn=expires_seconds
        )

    async def ping(self) -> None:
        """Raise StorageUnavailable unless the bucket answers."""
        await self._call(self._client.head_bucket, Bucket=self.bucket)

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (development and tests)."""
        try:
            await self.ping()
        except ObjectNotFound:
            await self._call(self._client.create_bucket, Bucket=self.bucket)

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise ObjectNotFound(f"{self.bucket}: object not found") from None
            raise StorageUnavailable(f"object storage refused the request ({code or 'error'})",
                                     _refusal_status(exc)) from None
        except (BotoCoreError, OSError) as exc:
            raise StorageUnavailable(f"object storage unreachable: {type(exc).__name__}") from None
        except Boto3Error as exc:  # upload_file wraps S3's refusals in S3UploadFailedError, not ClientError
            raise StorageUnavailable(f"object storage refused the upload ({type(exc).__name__})",
                                     _refusal_status(exc)) from None


def _refusal_status(exc: BaseException) -> int | None:
    """The HTTP status of the S3 answer behind a boto error (a wrapper's is its ClientError's), None if none."""
    cause: BaseException | None = exc
    while cause is not None:
        response = getattr(cause, "response", None)  # botocore's ClientError: the bucket answered with an error
        if isinstance(response, dict):
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return status if isinstance(status, int) else None
        cause = cause.__cause__ or cause.__context__
    return None
