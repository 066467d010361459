"""Type-checked with mypy --strict by test_typing.py: the public API as an app uses it."""

from __future__ import annotations

import asyncio
from typing import Dict, Optional

import httpx
import requests

import tokenkeep
from tokenkeep.httpx_auth import HttpxAuth
from tokenkeep.requests_auth import RequestsAuth


class DictStore(tokenkeep.TokenStore):
    def __init__(self) -> None:
        super().__init__()
        self.records: Dict[str, bytes] = {}

    def load(self, key: str) -> Optional[bytes]:
        return self.records.get(key)

    def save(self, key: str, record: bytes) -> None:
        if len(record) > 1_000_000:
            raise tokenkeep.StoreError.Io("record too large")
        self.records[key] = record

    def delete(self, key: str) -> None:
        self.records.pop(key, None)


class Printer(tokenkeep.SessionListener):
    def on_tokens_changed(self, event: tokenkeep.TokensChanged) -> None:
        print(event.reason, event.expires_at_unix_ms)


def save(tokens: tokenkeep.TokenSet) -> None:
    print(tokens.expires_at, tokens.expired, tokens.valid, sorted(tokens.to_dict()))


def main() -> str:
    options = tokenkeep.TokenKeeperOptions(
        token_endpoint="https://auth.example.com/oauth/token",
        client_id="my-app",
        store=DictStore(),
        policy=tokenkeep.RefreshPolicy(refresh_ahead_secs=120),
        api_origins=["https://api.example.com"],
        listener=Printer(),
    )
    keeper = tokenkeep.TokenKeeper(options, token_updater=save)
    with keeper:
        tokens: tokenkeep.TokenSet = keeper.set_token_response({"access_token": "a", "token_type": "Bearer"})
        assert tokens.expires_at_unix_ms() is None
        state: tokenkeep.SessionState = keeper.state()
        print(state.name)
        try:
            token: str = keeper.access_token()
        except tokenkeep.SessionExpiredError:
            return "sign in"
        except tokenkeep.TransientError as error:
            wait: Optional[int] = error.retry_after_secs
            return f"later {wait}"
        except tokenkeep.StorageError as error:
            kind: tokenkeep.StorageErrorKind = error.kind
            return kind.name
        requests.get("https://api.example.com/me", auth=RequestsAuth(keeper), timeout=10)
        httpx.get("https://api.example.com/me", auth=HttpxAuth(keeper))
        return token


async def main_async(keeper: tokenkeep.TokenKeeper) -> str:
    async with keeper:
        refreshed: tokenkeep.TokenSet = await keeper.refresh_async()
        confirmed: bool = (await keeper.logout_async()).fully_revoked
        print(refreshed.scope(), confirmed)
        return await keeper.access_token_async()


if __name__ == "__main__":
    print(main())
    asyncio.run(main_async(tokenkeep.TokenKeeper(token_endpoint="https://a.example/t", client_id="c")))
