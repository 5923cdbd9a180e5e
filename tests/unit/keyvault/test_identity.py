"""The fake identity's tokens: the vault accepts its own; expired, foreign, forged ones fail."""

import jwt
import pytest
from azure.keyvault.secrets import ApiVersion

from fakes.keyvault.app import API_VERSIONS
from fakes.keyvault.identity import ISSUER, VAULT_RESOURCE, InvalidToken, TokenAuthority


def test_a_token_it_issued_for_the_vault_is_accepted() -> None:
    authority = TokenAuthority()
    token, expires_on = authority.issue(VAULT_RESOURCE)
    authority.verify(token)
    assert jwt.decode(token, options={"verify_signature": False})["exp"] == expires_on


@pytest.mark.parametrize(
    ("token_of", "message"),
    [
        (lambda a: a.issue(VAULT_RESOURCE, -60)[0], "[TokenExpired]"),
        (lambda a: a.issue("https://management.azure.com")[0], "AKV10022: Invalid audience"),
        (lambda a: TokenAuthority().issue(VAULT_RESOURCE)[0], "AKV10046"),
        (
            lambda a: jwt.encode(
                {"aud": VAULT_RESOURCE, "iss": ISSUER, "exp": 4_000_000_000},
                "a different key of thirty-two bytes",
                algorithm="HS256",
            ),
            "AKV10046",
        ),
        (lambda a: "not-a-jwt", "AKV10046"),
    ],
    ids=["expired", "other-audience", "other-authority", "forged", "garbage"],
)
def test_other_tokens_are_refused_in_key_vaults_words(token_of: object, message: str) -> None:
    authority = TokenAuthority()
    with pytest.raises(InvalidToken, match=message.replace("[", r"\[")):
        authority.verify(token_of(authority))  # type: ignore[operator]


def test_every_api_version_the_installed_sdk_knows_is_accepted() -> None:
    assert {v.value for v in ApiVersion} <= API_VERSIONS
