"""Shipped settings carry no local values: on AWS a missing one fails the cold start, naming it."""

from __future__ import annotations

import pytest

from kaeri.settings import MissingSetting, Settings


def test_aws_mode_without_the_api_url_fails_naming_its_variable():
    with pytest.raises(MissingSetting, match="KAERI_API_URL"):
        Settings.from_env({"AWS_REGION": "ap-northeast-1", "KAERI_TABLE_PREFIX": "kaeri"})


def test_aws_mode_with_the_api_url_reads_it_and_has_no_signing_secret_to_fall_back_on():
    settings = Settings.from_env({"KAERI_API_URL": "https://api.shop.example"})
    assert settings.public_api_url == "https://api.shop.example"
    with pytest.raises(MissingSetting, match="KAERI_LINK_SIGNING_SECRET_NAME"):
        settings.required("link_signing_secret_name")


def test_local_mode_is_the_local_stacks_to_fill_in():
    settings = Settings.from_env({"KAERI_LOCAL_MODE": "1"})
    assert settings.local and settings.api_url is None
    with pytest.raises(MissingSetting, match="KAERI_API_URL"):
        settings.public_api_url  # noqa: B018  (a link cannot be minted without it, locally either)


def test_signing_links_without_a_secret_name_fails_instead_of_using_a_known_key():
    from kaeri.delivery.links import signing_secret

    with pytest.raises(MissingSetting, match="KAERI_LINK_SIGNING_SECRET_NAME"):
        signing_secret(Settings(api_url="https://api.shop.example"))


def test_the_report_function_without_its_bucket_fails_naming_it(monkeypatch):
    import report_nightly

    from kaeri.settings import get_settings

    monkeypatch.delenv("KAERI_REPORT_BUCKET", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(MissingSetting, match="KAERI_REPORT_BUCKET"):
            report_nightly.handler({}, _context())
    finally:
        get_settings.cache_clear()


def _context():
    from types import SimpleNamespace

    return SimpleNamespace(
        function_name="report-nightly",
        memory_limit_in_mb=1024,
        invoked_function_arn="arn",
        aws_request_id="r",
    )


def test_the_console_without_its_user_pool_fails_naming_it():
    from kaeri.console.auth import ConsoleAuth

    with pytest.raises(MissingSetting, match="KAERI_CONSOLE_USER_POOL_ID"):
        ConsoleAuth.from_settings(Settings(api_url="https://api.shop.example"), clients=None)
