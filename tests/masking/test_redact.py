"""headwater.masking on its own: what counts as a secret, which forms of it are hidden,
nested structures, many secrets and threads."""

from __future__ import annotations

import json
import threading
from urllib.parse import quote, quote_plus

import pytest

import headwater
from headwater import masking
from headwater.masking import MASK, is_sensitive_name, mask_secret, redact, redact_text


def test_the_package_root_exports_mask_secret() -> None:
    assert headwater.mask_secret is mask_secret
    headwater.mask_secret("hunter22")
    assert redact_text("login with hunter22 now") == "login with *** now"


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "db_password",
        "API_KEY",
        "apikey",
        "access_token",
        "Authorization",
        "client_secret",
        "ssh_private_key",
        "passphrase",
        "passwd",
        "fernet_key",
        "x-auth-token",
    ],
)
def test_sensitive_names(name: str) -> None:
    assert is_sensitive_name(name)


@pytest.mark.parametrize("name", ["user", "login", "host", "region", "keyword", "passenger"])
def test_names_that_are_not_sensitive(name: str) -> None:
    assert not is_sensitive_name(name)


def test_a_registered_secret_is_hidden_wherever_it_is_in_a_line() -> None:
    mask_secret("s3cr3t-value")
    assert redact_text("s3cr3t-value") == MASK
    assert redact_text("a=s3cr3t-value;b=s3cr3t-value") == "a=***;b=***"
    assert redact_text("nothing here") == "nothing here"


def test_short_and_blank_values_are_never_registered() -> None:
    mask_secret("ab")
    mask_secret("   ")
    mask_secret(" x ")
    mask_secret("")
    assert masking._secrets == {}
    assert redact_text("ab and x stay") == "ab and x stay"


def test_non_text_values_are_ignored() -> None:
    mask_secret(12345)
    mask_secret(None)
    assert masking._secrets == {}


def test_regular_expression_characters_in_a_secret_are_taken_literally() -> None:
    mask_secret("a.b*c(")
    assert redact_text("x a.b*c( y") == "x *** y"
    assert redact_text("axbbbc(") == "axbbbc("


def test_where_secrets_overlap_the_longest_is_hidden_whole() -> None:
    mask_secret(["secret", "secret-and-more", "sec"])
    assert redact_text("secret-and-more secret-and secret sec") == "*** ***-and *** ***"


def test_common_encodings_of_a_secret_are_hidden() -> None:
    secret = "p@ss word/é\"'\\"
    mask_secret(secret)
    for form in (
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
    ):
        assert form != secret
        assert redact_text(f"<{form}>") == "<***>", form
    assert redact_text(f"uri postgresql://etl:{quote(secret, safe='')}@db/x") == (
        "uri postgresql://etl:***@db/x"
    )
    assert redact_text(repr({"password": secret})) == "{'password': '***'}"


def test_each_line_of_a_multi_line_secret_is_hidden_on_its_own() -> None:
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqh\nkiG9w0BAQEFAASC\n-----END KEY-----"
    mask_secret(key)
    assert redact_text(key) == MASK
    assert redact_text("line: MIIEvQIBADANBgkqh") == "line: ***"
    assert redact_text(json.dumps({"k": key})) == '{"k": "***"}'


def test_a_dict_or_list_registers_every_string_in_it() -> None:
    mask_secret({"a": "first-secret", "b": ["second-secret", ("third-secret",)], "n": 7})
    assert redact_text("first-secret second-secret third-secret") == "*** *** ***"


def test_with_a_name_only_values_under_sensitive_keys_are_registered() -> None:
    mask_secret({"api_key": "key-value-1", "region": "eu-west-1"}, name="extra")
    assert redact_text("key-value-1 in eu-west-1") == "*** in eu-west-1"
    mask_secret("a-plain-value", name="host")
    assert redact_text("a-plain-value") == "a-plain-value"
    mask_secret("the-password", name="db_password")
    assert redact_text("the-password") == MASK


def test_redact_of_nested_structures() -> None:
    mask_secret("registered-1")
    value = {
        "user": "etl",
        "password": "not-registered",
        "nested": {"api_token": ["a", "b"], "note": "has registered-1 inside"},
        "list": ["registered-1", ("registered-1", 3), {"secret_name": 5}],
        "enabled": True,
        "has_password": False,
        "token": None,
        "empty_secret": "",
    }
    assert redact(value) == {
        "user": "etl",
        "password": MASK,
        "nested": {"api_token": MASK, "note": "has *** inside"},
        "list": [MASK, (MASK, 3), {"secret_name": MASK}],
        "enabled": True,
        "has_password": False,
        "token": None,
        "empty_secret": "",
    }
    assert value["password"] == "not-registered"  # copied, never changed in place


def test_the_value_of_a_record_named_like_a_secret_is_hidden() -> None:
    rows = [
        {"key": "db_password", "value": "x1", "description": "the db"},
        {"key": "region", "value": "eu"},
        {"name": "API_TOKEN", "value": "abc"},
        {"setting": "secrets.fernet_key", "value": "k3y", "source": "env"},
        {"setting": "secrets.backends", "value": ["environment"], "source": "default"},
    ]
    assert redact(rows) == [
        {"key": "db_password", "value": MASK, "description": "the db"},
        {"key": "region", "value": "eu"},
        {"name": "API_TOKEN", "value": MASK},
        {"setting": "secrets.fernet_key", "value": MASK, "source": "env"},
        {"setting": "secrets.backends", "value": ["environment"], "source": "default"},
    ]


def test_a_value_under_a_sensitive_name_is_hidden_whole() -> None:
    assert redact("anything", "password") == MASK
    assert redact({"a": 1}, "secret") == MASK
    assert redact("anything", "host") == "anything"


def test_redact_is_bounded_on_deep_and_cyclic_structures() -> None:
    mask_secret("deep-secret")
    cyclic: list[object] = ["deep-secret"]
    cyclic.append(cyclic)
    shown = redact(cyclic)
    text = json.dumps(shown, default=str)
    assert "deep-secret" not in text
    assert MASK in text
    deep: object = "deep-secret"
    for _ in range(100):
        deep = [deep]
    assert "deep-secret" not in json.dumps(redact(deep))


def test_many_secrets_are_all_hidden() -> None:
    secrets = [f"secret-number-{i:05d}-x" for i in range(2000)]
    for secret in secrets:
        mask_secret(secret)
    line = " ".join(secrets[::97])
    assert redact_text(line) == " ".join([MASK] * len(secrets[::97]))
    assert redact_text("secret-number-") == "secret-number-"


def test_past_the_limit_the_oldest_secrets_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(masking, "MAX_SECRETS", 3)
    for secret in ("first-one", "second-one", "third-one", "fourth-one"):
        mask_secret(secret)
    assert redact_text("first-one second-one fourth-one") == "first-one *** ***"


def test_a_secret_registered_later_is_hidden_from_then_on() -> None:
    assert redact_text("later-secret") == "later-secret"
    mask_secret("later-secret")
    assert redact_text("later-secret") == MASK


def test_threads_register_and_redact_at_once() -> None:
    errors: list[str] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        start.wait()
        for i in range(40):
            secret = f"thread-{n}-secret-{i}"
            mask_secret(secret)
            shown = redact_text(f"value {secret} end")
            if shown != "value *** end":
                errors.append(shown)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(masking._secrets) == 8 * 40
    assert redact_text("thread-7-secret-39 thread-0-secret-0") == "*** ***"


def _settle(secrets: list[str]) -> None:
    """Register ``secrets`` with enough others that all go into the main pattern."""
    mask_secret(secrets + [f"filler-secret-{i}" for i in range(masking._RECENT_LIMIT + 1)])
    redact_text("compile")
    assert masking._recent == []


def test_a_later_secret_that_is_part_of_an_earlier_one_leaves_none_of_it() -> None:
    _settle(["long-secret-value"])
    mask_secret("long-secret")
    assert redact_text("long-secret-value and long-secret") == "*** and ***"


def test_a_later_secret_that_holds_an_earlier_one_is_hidden_whole() -> None:
    _settle(["short-one"])
    mask_secret("short-one-longer")
    assert masking._recent  # matched by the small pattern of recent secrets
    assert redact_text("short-one-longer and short-one") == "*** and ***"


def test_secrets_registered_one_by_one_between_lines_are_all_hidden() -> None:
    secrets = [f"one-by-one-{i}" for i in range(300)]
    for secret in secrets:
        mask_secret(secret)
        assert redact_text(f"[{secret}]") == "[***]"
    assert redact_text(" ".join(secrets)) == " ".join([MASK] * 300)


def test_header_style_names_count_as_secret_names() -> None:
    """``X-Api-Key`` is ``x_api_key``: a header holding a key is hidden like a field."""
    assert is_sensitive_name("X-Api-Key") and is_sensitive_name("x-auth-token")
    assert is_sensitive_name("client credentials")
    assert not is_sensitive_name("Accept") and not is_sensitive_name("monkey")
    assert redact({"headers": {"X-Api-Key": "k-123", "Accept": "json"}}) == {
        "headers": {"X-Api-Key": "***", "Accept": "json"}
    }
