import pytest

from iocjail.fetch.manifest import BadManifest, Entry, NotInManifest, parse, render, select

A = "a" * 64
B = "b" * 64
FREEBSD = (f'base.txz\t{A}\t28357\tbase\t"Base system (MANDATORY)"\ton\n'
           f'lib32.txz\t{B}\t1024\tlib32\t"32-bit compatibility libraries"\ton\n')


def test_parse_freebsd_manifest():
    entries = parse(FREEBSD)
    assert entries == {"base.txz": Entry("base.txz", A), "lib32.txz": Entry("lib32.txz", B)}


def test_parse_ignores_blank_lines_and_comments_and_uppercase_sums():
    assert parse(f"# sums\n\nbase.txz\t{A.upper()}\n")["base.txz"].sha256 == A


@pytest.mark.parametrize("text,why", [
    ("base.txz  " + A + "\n", "expected tab-separated"),
    (f"base.txz\t{A[:-1]}\n", "bad sha256"),
    (f"../base.txz\t{A}\n", "bad file name"),
    (f"base.txz\t{A}\nbase.txz\t{B}\n", "listed twice"),
    ("\n# nothing\n", "no files listed"),
    ("<html>404</html>\n", "expected tab-separated"),
])
def test_malformed_manifests_name_the_line(text, why):
    with pytest.raises(BadManifest) as err:
        parse(text, "MANIFEST of 13.2-RELEASE")
    assert why in str(err.value) and str(err.value).startswith("MANIFEST of 13.2-RELEASE: line ")


def test_select_requires_what_must_be_there_and_skips_optional_sets():
    entries = parse(f"base.txz\t{A}\n")
    assert select(entries, ["base.txz", "lib32.txz"], ["base.txz"], "R") == [Entry("base.txz", A)]
    with pytest.raises(NotInManifest) as err:
        select(entries, ["src.txz"], ["src.txz"], "13.2-RELEASE")
    assert str(err.value) == ("MANIFEST of 13.2-RELEASE does not list src.txz: "
                              "refusing to fetch a file that cannot be verified")


def test_render_round_trips():
    entries = [Entry("base.txz", A), Entry("rootfs.tar.gz", B)]
    assert list(parse(render(entries)).values()) == entries
