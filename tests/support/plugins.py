"""A plugin as a test builds it: a git artifact repository (overlay/, post_install.sh, ui.json), its
manifest, an INDEX directory, and a package manager in miniature for the busybox release."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

FINGERPRINT = "b0170035af3acc5f3f3ae1859dc717101b4e6c1d0a794ad554928ca0cbb2f438"
PKG_WRAPPER = "usr/local/sbin/fake-pkg"
PKG_COMMAND = f"/bin/sh /{PKG_WRAPPER}"

# pkg(8)'s `install -y NAME` in miniature: records NAME under /var/db/fake-pkg; a package whose
# name starts with "broken" does not exist.
FAKE_PKG = """#!/bin/sh
[ "$1" = install ] || { echo "fake-pkg: only install is known" >&2; exit 64; }
shift
[ "$1" = -y ] && shift
for p in "$@"; do
    case "$p" in broken*) echo "fake-pkg: $p: no such package" >&2; exit 1 ;; esac
    mkdir -p "/var/db/fake-pkg/$(echo "$p" | tr / _)"
done
"""

POST_INSTALL = """#!/bin/sh
# runs inside the jail: what it sees proves the overlay and packages came first
{
    echo "ip=$IOCAGE_PLUGIN_IP"
    echo "hostname=$(hostname)"
    echo "conf=$(cat /usr/local/etc/hello.conf)"
    echo "pkgs=$(ls /var/db/fake-pkg | tr '\\n' ' ')"
} > /root/post_install.done
"""


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.org",
                           *args], check=True, capture_output=True, text=True, env=env).stdout


def artifact(path: Path, *, post_install: str | None = POST_INSTALL, extra: dict[str, str] | None = None,
             links: dict[str, str] | None = None) -> Path:
    """A git repository laid out as iocage plugin artifacts are; `extra` adds files, `links` symlinks."""
    files = {
        "overlay/usr/local/etc/hello.conf": "greeting=hello\n",
        "overlay/usr/local/bin/hello": "#!/bin/sh\necho hello from the overlay\n",
        "ui.json": json.dumps({"adminportal": "http://%%IP%%:8080/", "docurl": "https://example.org/hello"}),
        **({"post_install.sh": post_install} if post_install is not None else {}),
        **(extra or {}),
    }
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    os.chmod(path / "overlay/usr/local/bin/hello", 0o755)
    for rel, target in {"overlay/usr/local/share/hello/conf": "../../etc/hello.conf", **(links or {})}.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).symlink_to(target)
    subprocess.run(["git", "init", "-q", "-b", "master", str(path)], check=True)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "plugin artifact")
    return path


def manifest(artifact_url: str, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "hello", "release": "13.2-RELEASE", "artifact": artifact_url, "official": False,
        "properties": {"priority": 7}, "pkgs": ["www/hello", "hello-data"],
        "packagesite": "http://pkg.example.org/${ABI}/latest",
        "fingerprints": {"iocage-plugins": [{"function": "sha256", "fingerprint": FINGERPRINT}]}, "revision": "0"}
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def write_manifest(path: Path, data: dict[str, object]) -> Path:
    path.write_text(json.dumps(data, indent=4))
    return path


def index_dir(path: Path, manifests: dict[str, dict[str, object]], *, commit: bool = False) -> Path:
    """A plugin index: INDEX plus one KEY.json per manifest; a git repository with `commit`."""
    path.mkdir(parents=True, exist_ok=True)
    index = {key: {"MANIFEST": f"{key}.json", "name": key.title(), "description": f"The {key} plugin",
                   "primary_pkg": f"www/{key}", "official": False} for key in manifests}
    (path / "INDEX").write_text(json.dumps(index, indent=2))
    for key, data in manifests.items():
        write_manifest(path / f"{key}.json", data)
    if commit:
        subprocess.run(["git", "init", "-q", "-b", "master", str(path)], check=True)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "index")
    return path


def install_fake_pkg(release_root: Path) -> None:
    """The package manager in miniature, put in the release before jails are cloned from it."""
    target = release_root / PKG_WRAPPER
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(FAKE_PKG)
    os.chmod(target, 0o755)
