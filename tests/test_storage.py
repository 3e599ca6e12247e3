"""The BUCKET binding against a real SeaweedFS over S3: round trip, missing keys, presign, outages."""

import httpx
import pytest

from worker.seaweed import free_port
from worker.storage import Bucket, ObjectNotFound, StorageUnavailable, content_key


@pytest.fixture
async def bucket(s3, bucket_name):
    b = Bucket(s3.endpoint, bucket_name)
    await b.ensure_bucket()
    return b


async def test_round_trip(bucket):
    data = b"%PDF-1.7 fake but bytes are bytes \x00\xff"
    key = content_key("pdf", data, ".pdf")
    assert not await bucket.exists(key)
    assert await bucket.put(key, data, "application/pdf") == key
    assert await bucket.exists(key)
    assert await bucket.get(key) == data


async def test_large_file_streams_through_put_file(bucket, tmp_path):
    path = tmp_path / "big.eml"
    path.write_bytes(b"x" * (9 * 1024 * 1024 + 7))  # above boto3's multipart threshold
    await bucket.put_file("raw/big.eml", path, "message/rfc822")
    assert len(await bucket.get("raw/big.eml")) == path.stat().st_size


async def test_an_empty_object_does_not_stall_the_next_request(bucket):
    """Audit BZ F1: an empty PUT went with `Expect: 100-continue`; SeaweedFS's answer left a second status line on
    the pooled connection, and the next request on it waited out the read timeout (20 s) and was retried."""
    sent, retries = [], []
    events = bucket._client.meta.events
    events.register("before-send.s3.PutObject", lambda request, **_: sent.append(dict(request.headers)))
    events.register("after-call.s3.PutObject",
                    lambda parsed, **_: retries.append(parsed["ResponseMetadata"]["RetryAttempts"]))
    await bucket.put("po/empty.pdf", b"", "application/pdf")  # an empty attachment is stored like any other
    await bucket.put("raw/next.eml", b"the next email", "message/rfc822")
    assert "Expect" not in sent[0] and sent[1].get("Expect") == b"100-continue"
    assert retries == [0, 0]  # the next PUT was answered at once, not after a timeout and a retry
    assert await bucket.get("po/empty.pdf") == b"" and await bucket.get("raw/next.eml") == b"the next email"


async def test_missing_key_is_not_found(bucket):
    with pytest.raises(ObjectNotFound):
        await bucket.get("no/such/key")


async def test_presigned_url_fetches_the_object(bucket):
    await bucket.put("a/b.txt", b"hello", "text/plain")
    url = await bucket.presign("a/b.txt", expires_seconds=60)
    assert "Signature" in url or "X-Amz-Signature" in url
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200 and response.content == b"hello"


def test_content_key_is_content_addressed():
    assert content_key("raw", b"a") == content_key("raw", b"a")
    assert content_key("raw", b"a") != content_key("raw", b"b")
    assert content_key("/raw/", b"a", ".eml").startswith("raw/")


async def test_unreachable_store_raises_unavailable_without_boto_types():
    down = Bucket(f"http://127.0.0.1:{free_port()}", "nothing-here")
    for call in (down.ping(), down.put("k", b"v"), down.get("k"), down.exists("k")):
        with pytest.raises(StorageUnavailable) as err:
            await call
        assert "botocore" not in type(err.value).__module__


async def test_unconfigured_bucket_is_unavailable_not_aws():
    with pytest.raises(StorageUnavailable, match="no S3 endpoint configured"):
        await Bucket("", "gfs-worker").put("k", b"v")
