"""Issue 11, "Secrets in text", in Python: what ``set_token_response`` takes
and how it refuses the rest, tokens outside the RFC syntax, and a server
echoing the client secret. No error's ``str`` or ``repr`` shows a secret."""

from __future__ import annotations

import json
import urllib.parse

import pytest

import tokenkeep
from support import eventually

SECRET = "hunter2-token-value-0123456789"


def _texts(error: BaseException) -> str:
    """Everything a traceback or a log line could show of ``error``."""
    parts = [str(error), repr(error)]
    for linked in (error.__cause__, error.__context__):
        if linked is not None:
            parts += [str(linked), repr(linked)]
    return " ".join(parts)


def test_set_token_response_takes_a_mapping_text_or_bytes(server, make_keeper):
    keeper = make_keeper()
    answer = server.sign_in()

    class Answer(dict):  # any Mapping
        pass

    text = json.dumps(answer)
    for form in (Answer(answer), text, text.encode(), bytearray(text.encode())):
        assert keeper.set_token_response(form).access_token() == answer["access_token"]


def test_bytes_that_are_not_utf8_are_a_protocol_error_quoting_nothing(make_keeper):
    keeper = make_keeper()
    body = ('{"access_token": "%s", "note": "' % SECRET).encode() + b"\xff\xfe" + b'"}'
    with pytest.raises(tokenkeep.BadResponseError) as caught:
        keeper.set_token_response(body)
    assert SECRET not in _texts(caught.value)
    assert "UTF-8" in str(caught.value)
    assert keeper.tokens() is None


def test_text_that_cannot_be_encoded_is_a_protocol_error_quoting_nothing(make_keeper):
    keeper = make_keeper()
    with pytest.raises(tokenkeep.BadResponseError) as caught:
        keeper.set_token_response('{"access_token": "%s\udcff"}' % SECRET)
    assert SECRET not in _texts(caught.value)


class _FakeResponse:
    """Stands for a ``requests.Response`` handed over by mistake."""

    text = json.dumps({"access_token": SECRET})

    def __repr__(self) -> str:
        return f"<Response {self.text}>"


@pytest.mark.parametrize("wrong", [None, 42, ["access_token", SECRET], _FakeResponse()])
def test_anything_else_is_a_type_error_saying_what_to_pass(make_keeper, wrong):
    keeper = make_keeper()
    with pytest.raises(TypeError) as caught:
        keeper.set_token_response(wrong)
    assert "dict" in str(caught.value) and "response.json()" in str(caught.value)
    assert type(wrong).__name__ in str(caught.value)
    assert SECRET not in _texts(caught.value)


@pytest.mark.parametrize(
    "access_token, refresh_token",
    [
        (SECRET + "\x01", None),
        (SECRET + "\r\nX-Injected: 1", None),
        (SECRET + " space", None),
        ("at", SECRET + "\n"),
        ("at", SECRET + "\x00"),
    ],
)
def test_tokens_outside_the_rfc_syntax_are_a_protocol_error_without_the_token(
    make_keeper, access_token, refresh_token
):
    keeper = make_keeper()
    with pytest.raises(tokenkeep.BadResponseError) as caught:
        keeper.set_tokens(access_token, refresh_token, expires_in=60)
    assert SECRET not in _texts(caught.value)
    answer = {"access_token": access_token, "token_type": "Bearer"}
    if refresh_token is not None:
        answer["refresh_token"] = refresh_token
    with pytest.raises(tokenkeep.BadResponseError) as caught:
        keeper.set_token_response(answer)
    assert SECRET not in _texts(caught.value)
    assert "access_token" in str(caught.value) or "refresh_token" in str(caught.value)
    assert keeper.tokens() is None


@pytest.mark.parametrize(
    "auth_method", [tokenkeep.ClientAuthMethod.CLIENT_SECRET_BASIC, tokenkeep.ClientAuthMethod.CLIENT_SECRET_POST]
)
def test_an_echoed_client_secret_stays_out_of_errors_and_events(server, make_keeper, caplog, auth_method):
    client_secret = "cs/py+echo=secret 0123456789"
    server.client(client_id="py-echo-client", client_secret=client_secret)
    failures = []
    keeper = make_keeper(
        "py-echo-client",
        client_secret=client_secret,
        auth_method=auth_method,
        policy=tokenkeep.RefreshPolicy(max_retries=0),
        on_refresh_failed=failures.append,
    )
    keeper.set_tokens("at-py", "rt-py-refresh-token", expires_in=3600)
    encoded = urllib.parse.quote_plus(client_secret)
    for echo in (client_secret, encoded, client_secret[:10]):
        body = json.dumps({"error": "invalid_request", "error_description": f"got {echo}"})
        server.fault(status=400, body=body)
        with pytest.raises(tokenkeep.BadResponseError) as caught:
            keeper.refresh()
        assert "[redacted]" in str(caught.value)
        for shown in (client_secret, encoded, client_secret[:8]):
            assert shown not in _texts(caught.value)
    eventually("three refresh-failed events", lambda: len(failures) == 3)
    for failure in failures:
        assert client_secret[:8] not in repr(failure) + failure.detail
    assert client_secret[:8] not in caplog.text
