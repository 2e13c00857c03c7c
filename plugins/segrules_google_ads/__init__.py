"""Built-in destination ``google_ads``: a Google Ads Customer Match user list, through the Google
Ads API's OfflineUserDataJobService (REST).

Per batch (<= ``batch_size`` people, 10,000 by default as Google recommends; one identifier each):

1. ``POST /{version}/customers/{cid}/offlineUserDataJobs:create`` — a ``CUSTOMER_MATCH_USER_LIST``
   job for the list, with the consent given in the options;
2. ``:addOperations`` with ``enablePartialFailure`` — ``create`` (add) or ``remove`` operations
   whose ``userIdentifiers`` hold ``hashedEmail`` or ``hashedPhoneNumber``; errors of the
   ``partialFailureError`` that name an operation index become rejected rows with Google's
   message, a failure that names none refuses the batch (the engine splits it);
3. ``:run``, then ``googleAds:search`` (GAQL on ``offline_user_data_job.status``) polled until
   ``SUCCESS`` (acknowledged) or ``FAILED`` (nothing acknowledged, SR824).

Identifiers are normalised and SHA-256 hashed by Google's rules in the audience query
(``DestinationDef.hashing``): the raw email or phone reaches neither Google nor the state store,
and the destination takes no fields. Jobs for one list run one at a time (Google answers
``CONCURRENT_MODIFICATION`` otherwise). Rate limits: 429 ``RESOURCE_EXHAUSTED``, waiting the
``retryDelay`` of the error's ``quotaErrorDetails``.

Replay: creating a member that is in the list, or removing one that is not, changes nothing; a
replay runs another job.
"""

from __future__ import annotations

import re
import time

from pydantic import Field, SecretStr

from segrules.plugin import (BatchRejected, BatchResult, DestinationDef, HttpClient, HttpDestination, HttpOptions,
                             Limits, Row, SinkError, SyncContext, Vendor, hookimpl)

IDENTIFIER = {"email": "hashedEmail", "phone": "hashedPhoneNumber"}
DELAY = re.compile(r"^(\d+(?:\.\d+)?)s$")


def retry_delay(response) -> float | None:
    """Seconds from the ``retryDelay`` ("30s") of a RESOURCE_EXHAUSTED error's quota details."""
    try:
        for detail in response.json()["error"].get("details") or []:
            for error in detail.get("errors") or []:
                found = DELAY.match(str(((error.get("details") or {}).get("quotaErrorDetails") or {})
                                        .get("retryDelay", "")))
                if found:
                    return float(found.group(1))
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def _failure_messages(error: dict) -> list[tuple[int | None, str]]:
    """(operation index or None, message) for each error of a GoogleAdsFailure status."""
    out = []
    for detail in error.get("details") or []:
        for e in detail.get("errors") or []:
            index = None
            for element in (e.get("location") or {}).get("fieldPathElements") or []:
                if element.get("fieldName") == "operations" and isinstance(element.get("index"), int):
                    index = element["index"]
            out.append((index, e.get("message") or "rejected by Google Ads"))
    return out or [(None, error.get("message") or "rejected by Google Ads")]


class GoogleAdsOptions(HttpOptions):
    customer_id: str = Field(description="The Google Ads customer id (digits, no dashes).")
    user_list_id: str = Field(description="The Customer Match user list id.")
    developer_token: SecretStr = Field(description="Developer token: ${GOOGLE_ADS_DEVELOPER_TOKEN}.")
    access_token: SecretStr = Field(description="OAuth2 access token (scope adwords): ${GOOGLE_ADS_ACCESS_TOKEN}.")
    login_customer_id: str | None = Field(None, description="Manager account id when acting through one.")
    base_url: str = Field("https://googleads.googleapis.com", description="API base URL.")
    api_version: str = Field("v21", description="Google Ads API version.")
    ad_user_data: str = Field("GRANTED", description="Consent for ad user data: GRANTED or DENIED.")
    ad_personalization: str = Field("GRANTED", description="Consent for ad personalisation: GRANTED or DENIED.")
    batch_size: int = Field(10_000, ge=1, le=100_000, description="People per job (Google recommends 10,000).")
    poll_interval: float = Field(5.0, ge=0, description="Seconds between polls of a job.")
    job_timeout: float = Field(6 * 3600.0, gt=0, description="Longest wait for a job, in seconds.")


class GoogleAdsClient(HttpDestination):
    def __init__(self, options: GoogleAdsOptions, context: SyncContext):
        self.options, self.context = options, context
        token, developer = options.access_token.get_secret_value(), options.developer_token.get_secret_value()
        headers = {"Authorization": f"Bearer {token}", "developer-token": developer}
        if options.login_customer_id:
            headers["login-customer-id"] = options.login_customer_id
        self.field = IDENTIFIER[context.identifier]
        self.limits = Limits(options.batch_size, None, 1)  # one job at a time per list
        self.prefix = f"/{options.api_version}/customers/{options.customer_id}"
        self.http = HttpClient(options.base_url, options, Vendor("google_ads", wait=retry_delay), headers=headers,
                               secrets=(token, developer))

    def _job(self) -> str:
        job = {"type": "CUSTOMER_MATCH_USER_LIST", "customerMatchUserListMetadata": {
            "userList": f"customers/{self.options.customer_id}/userLists/{self.options.user_list_id}",
            "consent": {"adUserData": self.options.ad_user_data,
                        "adPersonalization": self.options.ad_personalization}}}
        answer = self.http.request_json("POST", f"{self.prefix}/offlineUserDataJobs:create", json={"job": job},
                                        ok=(200,))
        try:
            return str(answer["resourceName"])
        except (KeyError, TypeError):
            raise SinkError("google_ads: offlineUserDataJobs:create answered without a resourceName",
                            code="SR825") from None

    def send(self, op: str, rows: list[Row]) -> BatchResult:
        kind = "remove" if op == "remove" else "create"
        operations = [{kind: {"userIdentifiers": [{self.field: r.identifier}]}} for r in rows]
        job = self._job()
        answer = self.http.request("POST", f"/{self.options.api_version}/{job}:addOperations", ok=(200, 400),
                                   json={"enablePartialFailure": True, "operations": operations})
        try:
            body = answer.json()
        except ValueError:
            raise SinkError(f"google_ads: {job}:addOperations answered {answer.status_code} with a body that is "
                            "not JSON: nothing acknowledged", code="SR825") from None
        if answer.status_code == 400:
            messages = "; ".join(m for _, m in _failure_messages(body.get("error") or {}))
            raise BatchRejected("google_ads: " + self.http.scrubber.cut(messages, 300))
        rejected: dict[str, str] = {}
        failure = body.get("partialFailureError") or {}
        if failure.get("code"):
            messages = _failure_messages(failure)
            if any(i is None or not 0 <= i < len(rows) for i, _ in messages):
                raise BatchRejected("google_ads: " + self.http.scrubber.cut("; ".join(m for _, m in messages), 300))
            for i, message in messages:
                rejected.setdefault(rows[i].key, self.http.scrubber.cut(message, 300))
        self.http.request("POST", f"/{self.options.api_version}/{job}:run", json={}, ok=(200,))
        status, reason = self._wait(job)
        if status != "SUCCESS":
            raise SinkError(f"google_ads: job {job} ended {status}" + (f" ({reason})" if reason else ""),
                            code="SR824")
        return BatchResult.except_rejected(rows, rejected)

    def _wait(self, job: str) -> tuple[str, str | None]:
        query = ("SELECT offline_user_data_job.status, offline_user_data_job.failure_reason "
                 f"FROM offline_user_data_job WHERE offline_user_data_job.resource_name = '{job}'")
        deadline = time.monotonic() + self.options.job_timeout
        delay = self.options.poll_interval
        while True:
            answer = self.http.request_json("POST", f"{self.prefix}/googleAds:search", json={"query": query},
                                            ok=(200,))
            results = (answer or {}).get("results") or []
            found = results[0].get("offlineUserDataJob", {}) if results else {}
            status = found.get("status")
            if status in ("SUCCESS", "FAILED"):
                return status, found.get("failureReason")
            if time.monotonic() > deadline:
                raise SinkError(f"google_ads: job {job} did not finish within {self.options.job_timeout:.0f}s",
                                code="SR824")
            self.http.sleep(delay)
            delay = min(delay * 1.5, 300.0)


@hookimpl
def register_destinations():
    return [DestinationDef(
        "google_ads", GoogleAdsOptions, GoogleAdsClient, secrets=("developer_token", "access_token"),
        identifiers=("email", "phone"), modes=("mirror", "add_only"), hashing="google", fields=(),
        replay="adding a member the list holds or removing one it does not changes nothing: a replay runs "
        "another job with the same hashed identifiers",
        doc="A Google Ads Customer Match list: OfflineUserDataJob create, addOperations, run, poll; hashed "
        "identifiers only.")]
