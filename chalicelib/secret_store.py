"""A deployment's token secret, read from AWS Secrets Manager by name.

Deployed, the template gives every function `TASKLANE_JWT_SECRET_NAME` (the secret's name), never
the secret itself, so the value is in neither the CloudFormation template nor the Lambda console.
`settings.current()` reads it once per process, that is once per Lambda cold start, and keeps it
with the other settings. Locally `TASKLANE_JWT_SECRET` is set and nothing here runs.
"""

from __future__ import annotations

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import TasklaneError


def read_secret(secret_id: str, *, region: str, endpoint_url: str | None) -> str:
    """The string value of the secret `secret_id` (a name or an ARN).

    A secret that cannot be read raises `TasklaneError` naming the secret, never its value; it is
    not cached, so the next invocation tries again.
    """
    client = boto3.session.Session().client("secretsmanager", region_name=region, endpoint_url=endpoint_url)
    try:
        value = client.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise TasklaneError(f"cannot read the token secret {secret_id!r}: {code}") from exc
    except BotoCoreError as exc:
        raise TasklaneError(f"cannot read the token secret {secret_id!r}: {type(exc).__name__}") from exc
    value = value.strip()
    if not value:
        raise TasklaneError(f"the token secret {secret_id!r} has no string value")
    return value
