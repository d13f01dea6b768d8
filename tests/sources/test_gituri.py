"""Parsing project URIs: what git is told, what stays secret, where the project is."""

from __future__ import annotations

import pytest

from mlrun.errors import UsageError
from mlrun.sources.checkout import submodule_remote
from mlrun.sources.gitcmd import auth_env
from mlrun.sources.gituri import GitRemote, is_remote, parse_remote, split_subdir


@pytest.mark.parametrize(
    "uri",
    [
        "https://github.com/org/repo.git",
        "http://h:8080/r",
        "ssh://git@h/org/r.git",
        "git://h/r.git",
        "git@github.com:org/repo.git",
        "git+ssh://h/r",
        "git+https://h/r",
    ],
)
def test_remote_uris_are_recognised(uri: str) -> None:
    assert is_remote(uri)


@pytest.mark.parametrize(
    "uri", [".", "project", "/abs/dir", "file:///abs/repo", "a:b/c", "./x@y:z"]
)
def test_local_uris_are_not_remote(uri: str) -> None:
    assert not is_remote(uri)


def test_token_is_taken_out_of_the_url_git_sees() -> None:
    remote = parse_remote("https://user:s3cr%40t@Example.COM/org/repo.git")
    assert remote.url == "https://example.com/org/repo.git"
    assert (remote.username, remote.password) == ("user", "s3cr@t")
    assert "s3cr" not in remote.key and "user" not in remote.key
    assert remote.host_prefix == "https://example.com/"


def test_token_reaches_git_only_through_the_environment_scoped_to_its_host() -> None:
    remote = parse_remote("https://x-access-token:TOKEN123@h.example:8443/o/r")
    env = auth_env(remote, base={})
    assert env["GIT_CONFIG_COUNT"] == "1"
    assert env["GIT_CONFIG_KEY_0"] == "http.https://h.example:8443/.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"].startswith("Authorization: Basic ")
    assert "TOKEN123" not in remote.url


def test_user_git_config_entries_are_kept() -> None:
    remote = parse_remote("https://u:t0ken@h/r")
    env = auth_env(remote, base={"GIT_CONFIG_COUNT": "2"})
    assert env["GIT_CONFIG_COUNT"] == "3" and "GIT_CONFIG_KEY_2" in env
    assert "GIT_CONFIG_KEY_0" not in env  # the user's own entries are left alone


def test_a_login_name_alone_goes_to_credential_helpers() -> None:
    remote = parse_remote("https://alice@h/r")
    assert remote.url == "https://h/r" and remote.password is None
    env = auth_env(remote, base={})
    assert env["GIT_CONFIG_KEY_0"] == "credential.https://h/.username"
    assert env["GIT_CONFIG_VALUE_0"] == "alice"


def test_ssh_login_stays_and_passwords_are_refused() -> None:
    assert parse_remote("ssh://git@h:2222/org/r.git").url == "ssh://git@h:2222/org/r.git"
    assert parse_remote("git@h:org/r.git").url == "git@h:org/r.git"
    with pytest.raises(UsageError, match="password"):
        parse_remote("ssh://git:pw@h/r.git")


def test_mirror_key_ignores_credentials_and_host_case() -> None:
    a = parse_remote("https://u:t1@GitHub.com/org/repo/")
    b = parse_remote("https://github.com/org/repo")
    assert a.key == b.key and a.cache_name == b.cache_name
    assert parse_remote("https://github.com/org/other").cache_name != b.cache_name
    assert "/" not in a.cache_name and a.cache_name.startswith("github.com_org_repo-")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("ftp://h/r", "unsupported URI scheme 'ftp'"),
        ("https:///r", "no host"),
        ("https://h", "no repository path"),
        ("https://h:99999/r", "malformed"),
        ("https://h/r?x=1", "query string"),
        ("git@h:", "no repository path"),
    ],
)
def test_bad_uris_are_usage_errors(uri: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        parse_remote(uri)
    assert info.value.exit_code == 2


def test_bad_uri_messages_do_not_show_credentials() -> None:
    with pytest.raises(UsageError) as info:
        parse_remote("ftp://u:hunter22@h/r")
    assert "hunter22" not in str(info.value)


def test_subdirectory_is_split_and_normalised() -> None:
    assert split_subdir("https://h/r.git#a/b/") == ("https://h/r.git", "a/b")
    assert split_subdir("repo#./x//y") == ("repo", "x/y")
    assert split_subdir("https://h/r.git") == ("https://h/r.git", "")
    for bad in ("r#", "r#/abs", "r#a/../../x", "r#.."):
        with pytest.raises(UsageError, match="not a relative path"):
            split_subdir(bad)


@pytest.mark.parametrize(
    ("url", "parent", "expected"),
    [
        ("../lib.git", "https://h/org/app.git", "https://h/org/lib.git"),
        ("./lib", "https://h/org/app", "https://h/org/app/lib"),
        ("../../other/lib", "https://h/org/app", "https://h/other/lib"),
        ("../lib.git", "git@h:org/app.git", "git@h:org/lib.git"),
        ("https://elsewhere/x.git", "https://h/org/app", "https://elsewhere/x.git"),
    ],
)
def test_submodule_urls_resolve_like_git(url: str, parent: str, expected: str) -> None:
    assert submodule_remote(url, parse_remote(parent)).url == expected


def test_submodule_on_the_same_host_shares_credentials_and_no_other_does() -> None:
    parent = parse_remote("https://u:tok@h/org/app.git")
    same = submodule_remote("../lib.git", parent)
    other = submodule_remote("https://elsewhere/lib.git", parent)
    assert same.password == "tok"
    assert other.password is None and other.username is None


def test_local_submodule_paths_become_file_remotes() -> None:
    parent = GitRemote("file:///srv/git/app.git")
    assert submodule_remote("../lib.git", parent).url == "file:///srv/git/lib.git"
    assert submodule_remote("/srv/x.git", parent).url == "file:///srv/x.git"
