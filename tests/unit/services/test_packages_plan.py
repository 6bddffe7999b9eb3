"""pkg as a plan: exact argv and environment of bootstrap, pkg -j and installs; retries."""

from iocjail.fetch.update import Command
from iocjail.services.packages import install_plan, linux_argv, pkg_plan, with_retries

CALLER = {"TERM": "xterm", "LANG": "C.UTF-8", "HOME": "/home/me", "SECRET": "not passed on"}
ENV = {"PATH": "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin", "PWD": "/", "HOME": "/",
       "TERM": "xterm", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
BATCH = {**ENV, "ASSUME_ALWAYS_YES": "yes"}


def test_pkg_in_a_jail_that_has_pkg_is_one_pkg_j_command():
    assert pkg_plan("www1", ("install", "sudo"), has_pkg=True, caller_env=CALLER) == (
        Command(("pkg", "-j", "ioc-www1", "install", "sudo"), ENV),)


def test_pkg_bootstraps_pkg_into_a_jail_without_it_first():
    assert pkg_plan("db.example", ("upgrade", "-y"), has_pkg=False, caller_env={}) == (
        Command(("pkg-static", "-j", "ioc-db_example", "install", "-q", "-y", "pkg"),
                {**BATCH, "TERM": "xterm-256color", "LANG": "en_US.UTF-8", "LC_ALL": "en_US.UTF-8"}),
        Command(("pkg", "-j", "ioc-db_example", "upgrade", "-y"),
                {**ENV, "TERM": "xterm-256color", "LANG": "en_US.UTF-8", "LC_ALL": "en_US.UTF-8"}))


def test_install_plan_is_bootstrap_then_one_quiet_yes_install_per_package():
    bootstrap, installs = install_plan("www1", ["nginx", "www/php83"], has_pkg=False, caller_env=CALLER)
    assert bootstrap == Command(("pkg-static", "-j", "ioc-www1", "install", "-q", "-y", "pkg"), BATCH)
    assert installs == (Command(("pkg", "-j", "ioc-www1", "install", "-q", "-y", "nginx"), BATCH),
                        Command(("pkg", "-j", "ioc-www1", "install", "-q", "-y", "www/php83"), BATCH))
    assert install_plan("www1", ["nginx"], has_pkg=True, caller_env=CALLER)[0] is None


def test_describe_is_a_pasteable_line_with_the_environment():
    line = pkg_plan("www1", ("install", "a b"), has_pkg=True, caller_env=CALLER)[0].describe()
    assert line == ("env -i PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin PWD=/ HOME=/ "
                    "TERM=xterm LANG=C.UTF-8 LC_ALL=C.UTF-8 pkg -j ioc-www1 install 'a b'")


def test_linux_jails_run_their_pkg_command_with_pkg_arguments():
    assert linux_argv("/usr/local/sbin/apk-as-pkg --quiet", ("install", "-y", "curl")) == [
        "/usr/local/sbin/apk-as-pkg", "--quiet", "install", "-y", "curl"]
    assert linux_argv("none", ("install",)) is None
    assert linux_argv(None, ("install",)) is None


def _jobs(*names):
    return [(n, Command(("pkg", "install", n))) for n in names]


def test_retries_until_success_and_reports_every_attempt():
    answers = {"a": [1, 0], "b": [1, 1, 1], "c": [0]}
    heard = []

    def attempt(command):
        return answers[command.argv[-1]].pop(0), "out"

    failed = with_retries(None, _jobs("a", "b", "c"), 3, attempt, lambda *a: heard.append(a))
    assert failed == ["b"]
    assert heard == [("a", 1, 1, "out"), ("a", 2, 0, "out"), ("b", 1, 1, "out"), ("b", 2, 1, "out"),
                     ("b", 3, 1, "out"), ("c", 1, 0, "out")]


def test_a_failed_bootstrap_fails_every_package_without_trying_them():
    tried = []

    def attempt(command):
        tried.append(command.argv[0])
        return 70, ""

    assert with_retries(Command(("pkg-static",)), _jobs("a", "b"), 2, attempt, None) == ["a", "b"]
    assert tried == ["pkg-static", "pkg-static"]
