import json

from iocjail.render import Format, table

HEAD = ("JID", "NAME", "STATE")
ROWS = [(None, "www1", "down"), (3, "db", "up")]


def test_table_has_borders_header_and_dash_for_none():
    text = table(HEAD, ROWS)
    lines = text.splitlines()
    assert lines[0].startswith("+") and "| JID" in lines[1] and "=" in lines[2]
    assert "| -   " in text and "| www1 |" in text


def test_tsv_has_no_header_and_tabs():
    assert table(HEAD, ROWS, Format.TSV) == "-\twww1\tdown\n3\tdb\tup"


def test_json_keeps_types():
    assert json.loads(table(HEAD, ROWS, Format.JSON)) == [
        {"jid": None, "name": "www1", "state": "down"}, {"jid": 3, "name": "db", "state": "up"}]


def test_numbers_and_names_are_not_reformatted():
    text = table(("NAME", "RELEASE"), [("0012", "13.20-RELEASE")])
    assert "0012" in text and "13.20-RELEASE" in text
