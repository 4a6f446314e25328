from __future__ import annotations

import pytest
import sqlalchemy as sa

from perflab.urls import hide_secrets, mask_url, parse_url

SECRET = "Zq7s3cret"


@pytest.mark.parametrize("url, shown", [
    (f"postgresql://ann:{SECRET}@db:5432/shop", "postgresql://ann:***@db:5432/shop"),
    (f"postgresql://:{SECRET}@db/shop", "postgresql://:***@db/shop"),
    (f"postgresql://ann:p@{SECRET}@db/shop", "postgresql://ann:***@db/shop"),
    (f"postgresql://ann:p%40{SECRET}@db/shop", "postgresql://ann:***@db/shop"),
    (f"postgresql://ann:a/b?{SECRET}@db/shop", "postgresql://ann:***@db/shop"),
    (f"postgresql://ann@db/shop?password={SECRET}", "postgresql://ann@db/shop?password=***"),
    (f"postgresql://ann@db/shop?sslmode=require&PassWord={SECRET}",
     "postgresql://ann@db/shop?PassWord=***&sslmode=require"),  # make_url sorts the parameters
    (f"postgresql+psycopg://ann:{SECRET}@db/shop?application_name=a@b",
     "postgresql+psycopg://ann:***@db/shop?application_name=a%40b"),
    (f"postgresql://db:5432/shop?password=p@{SECRET}", "postgresql://db:5432/shop?password=***"),
    (f"postgresql://ann:p?{SECRET}@db/shop", "postgresql://ann:***@db/shop"),
    (f"postgresql://ann@db/shop?sslmode=verify-full&sslpassword={SECRET}",
     "postgresql://ann@db/shop?sslmode=verify-full&sslpassword=***"),  # libpq's password of the client key
    (f"redis://:{SECRET}@cache:6379/0", "redis://:***@cache:6379/0"),
    (f"rediss://default:{SECRET}@cache", "rediss://default:***@cache"),
    (f"redis://cache/0?password={SECRET}", "redis://cache/0?password=***"),
    (f"unix://:{SECRET}@/run/redis.sock?db=3", "unix://:***@/run/redis.sock?db=3"),
    (f"unix:///run/redis.sock?PASSWORD={SECRET}", "unix:///run/redis.sock?PASSWORD=***"),
])
def test_every_password_form_is_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert SECRET not in mask_url(url)


@pytest.mark.parametrize("url", [
    f"postgresql://ann:{SECRET}@[::1:5432/shop",      # unclosed IPv6 bracket
    f"postgresql://ann:p@{SECRET}@db:port/shop",      # port is not a number
    f"ann:{SECRET}@db/shop",                           # no scheme
    f"redis://cache:notaport/0?password={SECRET}",
])
def test_urls_that_do_not_parse_are_masked_by_their_text(url: str) -> None:
    with pytest.raises(ValueError):
        parse_url(url)
    assert SECRET not in mask_url(url) and "***" in mask_url(url)


@pytest.mark.parametrize("url", ["sqlite:////tmp/a@b:c.sqlite", "sqlite:///data/perflab.sqlite",
                                 "postgresql://ann@db/shop", "redis://127.0.0.1:6379/3", "not a url"])
def test_urls_without_a_password_are_shown_as_written(url: str) -> None:
    assert mask_url(url) == url


def test_an_unencoded_at_sign_belongs_to_the_password() -> None:
    url = parse_url(f"postgresql://ann:p@{SECRET}@db:5433/shop")
    assert (url.username, url.password, url.host, url.port, url.database) == ("ann", f"p@{SECRET}", "db", 5433, "shop")


def test_an_at_sign_in_a_query_value_stays_in_the_query() -> None:
    url = parse_url(f"postgresql://ann@db:5433/shop?password=p@{SECRET}&application_name=a@b")
    assert (url.username, url.host, url.port, url.database) == ("ann", "db", 5433, "shop")
    assert dict(url.query) == {"password": f"p@{SECRET}", "application_name": "a@b"}


def test_sqlalchemy_url_objects_are_masked_too() -> None:
    url = sa.engine.make_url(f"postgresql+psycopg://ann:{SECRET}@db/shop?password={SECRET}")
    assert mask_url(url) == "postgresql+psycopg://ann:***@db/shop?password=***"


def test_hide_secrets_cleans_free_text() -> None:
    text = f"AUTH p@{SECRET} failed; tried p%40{SECRET}"
    assert hide_secrets(text, None, f"redis://:p@{SECRET}@cache") == "AUTH *** failed; tried ***"
    assert hide_secrets(f"x {SECRET}", f"redis://cache?password={SECRET}") == "x ***"
    assert hide_secrets(f"x {SECRET}", f"pg://ann:{SECRET}@[::1/db") == "x ***"
