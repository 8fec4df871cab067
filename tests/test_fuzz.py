"""Schemathesis against the live server's OpenAPI document.

Every documented operation is fuzzed over real HTTP with a bounded, seeded
number of examples, as a signed-in user and (for the admin operations) as the
bootstrap admin. No response may be a 5xx, and each must match what the
document says: a documented status code, its content type and its body schema.

Generated ids almost never exist, so some cases swap in real ones (the
caller's own notification, another user's, a real recipient, the caller's
password or refresh token) to reach the success paths; a request on another
user's notification must be refused like one on a missing notification
(but for an admin's edit or retraction, which admins may make of any).

The operations are fuzzed one by one as subtests through `operation.as_strategy`
rather than `schemathesis.pytest.from_fixture`, whose lazy loader does not run
under pytest 9.2 (it sets `Node._nodeid`, which pytest 9.2 no longer has).
"""

from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.clients import ADMIN_PASSWORD, Api

SEED = 20240601
# Per operation, and there are dozens of operations, so the examples add up: the suite keeps
# well under its CI budget with 15, and derandomize keeps each run the same.
MAX_EXAMPLES = 15


def status_code_listed(ctx, response, case):
    """The status code is listed by the operation itself, not only by a catch-all `default`.

    flask-smorest gives every operation a `default` error response, with which
    `status_code_conformance` accepts any code at all.
    """
    listed = case.operation.definition.raw.get("responses", {})
    if str(response.status_code) not in listed:
        codes = ", ".join(sorted(code for code in listed if code != "default"))
        raise AssertionError(
            f"{case.operation.label} answered {response.status_code}, which its documentation "
            f"does not list (it lists {codes} and `default`)"
        )


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    status_code_listed,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def openapi_schema(server):
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "cache": {"enabled": False},
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
        }
    )
    return schemathesis.openapi.from_url(
        server.url + "/api-docs/openapi.json", config=config, timeout=15
    )


class Caller:
    """Who sends the fuzzed requests, and the real ids a case may swap in.

    Some operations end the caller's session (logout, a spent refresh token, a
    password change); the caller then logs in again, so the next case is
    authenticated like the others. A profile change may rename the caller, who
    then signs in under the new name; the account's deletion is never confirmed
    with the real password (it would end the run's caller).
    """

    def __init__(self, api, account, peer, spare, *, is_admin=False):
        self.api, self.account, self.peer, self.spare = api, account, peer, spare
        self.is_admin = is_admin
        self.owns_password = not is_admin  # the shared bootstrap admin's is never changed

    def headers_for(self, case):
        token = self.account.access_token
        if case.operation.path == "/api/token/refresh":
            token = self.account.refresh_token
        return {"Authorization": f"Bearer {token}"}

    def fresh_notification(self, recipient):
        return self.api.notify(self.peer, recipient, message="fuzz target")["id"]

    def swap_in_real_ids(self, case, data):
        """Replace generated values by real ones; True when the case targets another user's."""
        path, params = case.operation.path, case.path_parameters or {}
        body = case.body if isinstance(case.body, dict) else None
        foreign = False
        if "notification_id" in params:
            target = data.draw(st.sampled_from(["generated", "own", "foreign"]), label="target")
            if target == "own":
                params["notification_id"] = self.fresh_notification(self.account)
            elif target == "foreign":
                params["notification_id"] = self.fresh_notification(self.peer)
                foreign = True
        if "user_id" in params and data.draw(st.booleans(), label="real user"):
            params["user_id"] = self.spare.id
        if body is None:
            return foreign
        if path == "/api/notifications" and "userId" in body:
            choice = data.draw(st.sampled_from(["generated", "peer", "self"]), label="recipient")
            if choice != "generated":
                body["userId"] = (self.peer if choice == "peer" else self.account).id
        swaps = {
            "/api/notifications/broadcast": ("userIds", [self.peer.id, self.spare.id]),
            "/api/logout": ("refresh_token", self.account.refresh_token),
        }
        if self.owns_password:  # never change the shared admin's password
            swaps["/api/users/me/password"] = ("current_password", self.account.password)
        field, real = swaps.get(path, (None, None))
        if field in body and data.draw(st.booleans(), label=f"real {field}"):
            body[field] = real
        return foreign

    def after(self, case, response):
        """Keep the caller signed in for the next case."""
        path, status = case.operation.path, response.status_code
        if status == 200 and path in ("/api/token/refresh", "/api/users/me/password"):
            if path == "/api/users/me/password":
                self.account = replace(self.account, password=case.body["new_password"])
            tokens = response.json()
            self.account = replace(
                self.account,
                access_token=tokens["access_token"],
                refresh_token=tokens["refresh_token"],
            )
        elif status == 200 and path == "/api/users/me" and case.method == "PATCH":
            user = response.json()  # a new username or email: sign in with it from now on
            self.account = replace(self.account, username=user["username"], email=user["email"])
        elif status == 401 or (path == "/api/logout" and status == 204):
            account = self.account
            self.account = self.api.login(
                account.id, account.username, account.email, account.password
            )


def _fuzz(case, data, caller):
    foreign = caller.swap_in_real_ids(case, data)
    response = case.call_and_validate(headers=caller.headers_for(case), checks=CHECKS, timeout=15)
    caller.after(case, response)
    moderation = caller.is_admin and case.method in ("PATCH", "DELETE")
    if foreign and not moderation:  # refused like a missing one: never a success, nor a 403
        assert response.status_code >= 400 and response.status_code != 403, (
            f"{case.operation.label} on another user's notification answered "
            f"{response.status_code}: {response.text}"
        )


@pytest.fixture(scope="module")
def user_caller(server):
    api = Api(server.url)
    return Caller(api, api.register("fuzz"), api.register("peer"), api.register("spare"))


@pytest.fixture(scope="module")
def admin_caller(server):
    api = Api(server.url)
    tokens = api.post("/api/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert tokens.status_code == 200, tokens.text
    me = api.get(
        "/api/users/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    admin = api.login(me.json()["id"], "admin", "admin@example.test", ADMIN_PASSWORD)
    return Caller(api, admin, api.register("peer"), api.register("spare"), is_admin=True)


def _is_for_admins(operation):
    """Admin-only operations (they document a 403), and the user list admins see more of."""
    documented = operation.definition.raw.get("responses", {})
    return "403" in documented or operation.label == "GET /api/users"


def _operations(schema, keep=lambda operation: True):
    operations = []
    for result in schema.get_all_operations():
        operation = result.ok()  # raises when the document has an unresolvable operation
        if keep(operation):
            operations.append(operation)
    assert operations, "the OpenAPI document lists no operations"
    return operations


def _cases(operation):
    """Valid and invalid requests for `operation`."""
    return st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )


def _fuzz_all(operations, caller, subtests):
    for operation in operations:
        with subtests.test(msg=operation.label):

            @FUZZ_SETTINGS
            @given(case=_cases(operation), data=st.data())
            def fuzz(case, data):
                _fuzz(case, data, caller)

            fuzz()


def test_every_operation_as_a_user(openapi_schema, user_caller, subtests):
    _fuzz_all(_operations(openapi_schema), user_caller, subtests)


def test_admin_operations_as_the_admin(openapi_schema, admin_caller, subtests):
    _fuzz_all(_operations(openapi_schema, _is_for_admins), admin_caller, subtests)
