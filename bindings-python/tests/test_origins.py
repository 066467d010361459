"""Which URLs may receive the token: the origin check agrees with the HTTP libraries."""

from __future__ import annotations

import httpx
import pytest
import requests
import urllib3

import tokenkeep
from tokenkeep._origins import OriginPolicy, origin_of
from tokenkeep.httpx_auth import HttpxAuth

ALLOWED = "http://127.0.0.1:8080"

CRAFTED = [
    "http://127.0.0.1:8080/api/me",
    "HTTP://127.0.0.1:8080/a",
    "http://127.0.0.1:08080/",
    "http://127.0.0.1:8080?@evil.example",
    "http://127.0.0.1:8080#@evil.example",
    "http://127.0.0.1:8080@evil.example/",
    "http://user:pw@127.0.0.1:8080/",
    "http://evil.example\\@127.0.0.1:8080/x",
    "http://127.0.0.1:8080\\@evil.example/x",
    "http://127.0.0.1:8080%2f@evil.example/",
    "http://evil.example#@127.0.0.1:8080/",
    "http://127.0.0.1:8081/",
    "https://127.0.0.1:8080/",
    "http://localhost:8080/",
    "http://[::1]:8080/",
]


def test_origins_are_normalized_like_the_core():
    assert origin_of("https://API.example.com:443/v1?x=1") == "https://api.example.com"
    assert origin_of("http://[::1]:80/") == "http://[::1]"
    assert origin_of("https://bücher.example/") == "https://xn--bcher-kva.example"
    assert origin_of("ftp://example.com/") is None
    with pytest.raises(ValueError):
        OriginPolicy(["not a url"])


@pytest.mark.parametrize("url", CRAFTED)
def test_requests_and_the_check_agree_on_the_host(url):
    policy = OriginPolicy([ALLOWED])
    prepared = requests.Request("GET", url).prepare()
    parsed = urllib3.util.parse_url(prepared.url)  # what urllib3 connects to
    connects_to_allowed = (parsed.scheme, parsed.host, parsed.port) == ("http", "127.0.0.1", 8080)
    assert policy.allows(prepared.url) == connects_to_allowed


@pytest.mark.parametrize("url", CRAFTED)
def test_httpx_and_the_check_agree_on_the_host(url):
    keeper = tokenkeep.Keeper(token_endpoint="http://127.0.0.1:9/token", client_id="app", api_origins=[ALLOWED])
    auth = HttpxAuth(keeper)
    request_url = httpx.Request("GET", url).url
    connects_to_allowed = (request_url.scheme, request_url.host, request_url.port) == ("http", "127.0.0.1", 8080)
    assert auth._allows(request_url) == connects_to_allowed
    keeper.close()
