"""What a failed S3 request means for the user: one message saying what failed and what to fix.

Unreachable endpoints, throttling and 5xx answers become
:class:`~chaintrack.errors.StoreUnavailableError`, which the SDK's background writer retries
with backoff (and a tracking server answers with 503, which its clients retry); everything else
(a missing bucket, rejected credentials) is a :class:`~chaintrack.errors.StoreError`.
"""

from __future__ import annotations

from typing import Any

from chaintrack.errors import StoreError, StoreUnavailableError

_TRANSIENT_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}
)
_DENIED_CODES = frozenset(
    {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden"}
)


def _client_error_code(exc: Any) -> tuple[str, int]:
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


def s3_error(
    exc: Exception, action: str, bucket: str, endpoint: str | None, missing: str = ""
) -> StoreError:
    """The StoreError for ``exc``, raised while trying to ``action``. ``missing`` says what a
    bare 404 (an answer to HEAD, which has no error code) means."""
    from botocore import exceptions as bx

    where = f"the S3 endpoint {endpoint}" if endpoint else "AWS S3"
    head = f"cannot {action}: "
    cause: BaseException = exc
    if type(exc).__name__ == "S3UploadFailedError":  # boto3's transfer wraps the real error
        cause = exc.__cause__ or exc.__context__ or exc
    if isinstance(cause, bx.ConnectionError | bx.HTTPClientError):
        return StoreUnavailableError(
            f"{head}{where} cannot be reached ({cause}). Check CHAINTRACK_S3_ENDPOINT_URL "
            "(empty means AWS) and that the service is up."
        )
    if isinstance(cause, bx.NoCredentialsError | bx.PartialCredentialsError):
        return StoreError(
            f"{head}no usable AWS credentials were found ({cause}). Set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment of this process."
        )
    if not isinstance(cause, bx.ClientError):
        return StoreError(f"{head}{cause}")
    code, status = _client_error_code(cause)
    if code == "NoSuchBucket" or (missing and code in ("404", "NotFound", "NoSuchKey")):
        what = missing if code != "NoSuchBucket" else f"the bucket {bucket!r} does not exist"
        return StoreError(f"{head}{where} says {what}.")
    if code == "NoSuchKey":
        return StoreError(f"{head}the blob is not in the bucket {bucket!r}.")
    if code in _DENIED_CODES or status == 403:
        return StoreError(
            f"{head}{where} refused access to the bucket {bucket!r} ({code or status}): the "
            "credentials are wrong or lack permission. Check AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket's policy (s3:ListBucket, "
            "s3:GetObject, s3:PutObject)."
        )
    if code in _TRANSIENT_CODES or status >= 500:
        return StoreUnavailableError(f"{head}{where} is unavailable for now ({cause}).")
    return StoreError(f"{head}{cause}")
