"""A large log read in parts (convsdk.report.jsonl.parts): the same report as in one
pass, with one part's visitors in memory at a time."""

from __future__ import annotations

import json
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from convsdk.errors import BackendError
from convsdk.event import Event
from convsdk.report import load_report
from convsdk.report.jsonl.parts import Links, Parts, visitor_key
from convsdk.report.jsonl.reader import FileReader

from .conftest import GOALS, T0, make, scenario, write_jsonl


def _figures(path: Path, part_bytes: int, **options: Any) -> dict[str, Any]:
    """The report of the log at ``path`` read in parts of ``part_bytes``, without meta."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("convsdk.report.jsonl.reader.PART_BYTES", part_bytes)
        report = load_report(path, GOALS, engine="python", **options)
    data: dict[str, Any] = json.loads(report.to_json())
    del data["meta"]
    return data


def _shared_orders() -> list[Event]:
    """Orders two visitors report with one transaction id (the earliest counts, whoever
    made it), a person on two devices, and orders without a visitor."""
    order: dict[str, Any] = {"kind": "macro", "goal": "purchase", "currency": "USD"}
    bot = make("page_view", 290, "bot", path="/pricing")
    bot.context["user_agent"] = "Mozilla/5.0 (compatible; Googlebot/2.1)"
    return [
        make("page_view", 0, "ana-phone", path="/pricing", utm={"source": "google"}),
        make(
            "checkout", 90, "ana-laptop", path="/checkout", value=30.0, transaction_id="T1", **order
        ),
        make(
            "checkout", 60, "ana-phone", path="/checkout", value=25.0, transaction_id="T1", **order
        ),
        make("identify", 100, "ana-laptop", user_id="u-ana"),
        make("identify", 10, "ana-phone", user_id="u-ana"),
        make("checkout", 30, "ben", path="/checkout", value=10.0, transaction_id="T2", **order),
        make("checkout", 20, None, path="/checkout", value=11.0, transaction_id="T2", **order),
        make("checkout", 40, None, path="/checkout", value=50.0, transaction_id="T9", **order),
        make("page_view", 50, None),
        make("form_submit", 70, "cy", path="/newsletter", kind="micro", goal="newsletter"),
        make("page_view", 80, 'quote"back\\slash', path="/pricing", variant="B"),
        make("page_view", 85, "ünïcode", path="/pricing", variant="A"),
        *(make("page_view", 200 + n, f"v{n}", path="/pricing") for n in range(30)),
        bot,
        make("checkout", 300, "bot", path="/checkout", value=1.0, **order),
    ]


@pytest.mark.parametrize("part_bytes", [4000, 700, 200])
def test_a_log_in_parts_gives_the_report_of_one_pass(tmp_path: Path, part_bytes: int) -> None:
    events = [*scenario(), *_shared_orders()]
    log = tmp_path / "events.jsonl"
    write_jsonl(log, events, split=11)
    with open(log, "ab") as fh:
        # A repeated event in another writer's spacing, garbage, a torn last line.
        fh.write(json.dumps(events[3].to_dict()).encode() + b"\n")
        fh.write(json.dumps(events[-5].to_dict(), ensure_ascii=True).encode() + b"\n")
        fh.write(b"not json\n")
        # An "event" whose id is a number: no event, and its order counts nowhere.
        fake = events[6].to_dict() | {"event_id": 5, "transaction_id": "T1", "value": 1e6}
        fh.write(json.dumps(fake).encode() + b"\n")
        fh.write(b'{"event_id": "x", "visitor_id": "no-name"')
    parts = -(-sum(p.stat().st_size for p in tmp_path.iterdir()) // part_bytes)
    assert parts > 1
    for options in (
        {"since": T0},
        {"since": T0, "until": T0 + timedelta(seconds=200), "include_bots": True},
        {"interval": "day", "by": "channel"},
    ):
        whole = _figures(log, 1 << 40, **options)
        assert whole["summary"]["events"] > 20
        assert whole["summary"]["bot_visitors"] == (0 if options.get("include_bots") else 1)
        assert _figures(log, part_bytes, **options) == whole, options


def test_a_persons_visitors_are_read_in_one_part(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    write_jsonl(log, _shared_orders())
    links = Links()
    lines = log.read_bytes().splitlines()
    for line in lines:
        links.line(line)
    assert links.links == {("ana-laptop", "u-ana"), ("ana-phone", "u-ana")}
    for count in range(2, 9):
        parts = Parts(count, links.links)
        ana = {
            parts.of(line) for line in lines if visitor_key(line) in (b"ana-laptop", b"ana-phone")
        }
        assert len(ana) == 1
        # The first part's pass keeps the part of every line; the next passes read it.
        for index in range(count):
            where = parts.part(index).where
            assert [where(line) for line in lines] == [parts.of(line) for line in lines]
    with pytest.raises(ValueError, match="1 to 255 parts"):
        Parts(256, set())


def test_an_id_repeated_with_other_content_counts_its_first_event_in_parts(
    tmp_path: Path,
) -> None:
    # The first event under an id counts, whatever the rest claim: here a page view, and
    # then an order under its id (in another part's lines, or its own).
    events = [make("page_view", n, f"v{n}", path="/pricing") for n in range(40)]
    log = tmp_path / "events.jsonl"
    write_jsonl(log, events)
    order: dict[str, Any] = {"kind": "macro", "goal": "purchase", "currency": "USD"}
    with open(log, "ab") as fh:
        for n in range(0, 40, 3):
            again = make("checkout", 1, f"v{n}", value=9.0, transaction_id=f"T{n}", **order)
            again.event_id = events[n].event_id
            fh.write(json.dumps(again.to_dict(), separators=(",", ":")).encode() + b"\n")
        # An order whose earliest conversion is claimed by a repeated id.
        fh.write(
            json.dumps(
                make("checkout", 3, "v1", value=5.0, transaction_id="T", **order).to_dict()
            ).encode()
            + b"\n"
        )
        again = make("checkout", 2, "v2", value=7.0, transaction_id="T", **order)
        again.event_id = events[2].event_id
        fh.write(json.dumps(again.to_dict()).encode() + b"\n")
        # An id of one visitor's event under others' (another part's, likely): no one.
        for n in range(8):
            other = make("page_view", 4, f"w{n}", path="/pricing")
            other.event_id = events[5].event_id
            fh.write(json.dumps(other.to_dict(), separators=(",", ":")).encode() + b"\n")
    whole = _figures(log, 1 << 40)
    assert whole["summary"]["revenue"] == {"USD": 5.0}
    assert whole["summary"]["visitors"] == 40
    for part_bytes in (3000, 900, 300):
        assert _figures(log, part_bytes) == whole, part_bytes


def test_a_lines_visitor_is_read_from_its_bytes_or_parsed() -> None:
    for visitor in ("v-1", 'quote"back\\slash', "ünïcode", None):
        data = make("page_view", 0, visitor).to_dict()
        for line in (
            json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode(),
            json.dumps(data, separators=(",", ":")).encode(),  # \u escapes
            json.dumps(data).encode(),  # spaced
            json.dumps(dict(reversed(list(data.items())))).encode(),  # another key order
        ):
            assert visitor_key(line) == (None if visitor is None else visitor.encode()), line
    # A property named like the field never passes for it.
    data = make("page_view", 0, None, properties={"visitor_id": "not-me"}).to_dict()
    assert visitor_key(json.dumps(data, separators=(",", ":")).encode()) is None
    assert visitor_key(b"not json") is None
    # A line cut anywhere (a write torn in the middle of a log) is no visitor's.
    whole = json.dumps(make("page_view", 0, "v-1").to_dict(), separators=(",", ":")).encode()
    at = whole.index(b'"visitor_id":') + len(b'"visitor_id":')
    for cut in range(at - 3, at + 4):
        assert visitor_key(whole[:cut]) is None
    assert visitor_key(b"[1, 2]") is None
    # A lone surrogate (escaped: no UTF-8 holds it), whether the parser takes it or not.
    data = make("page_view", 0, "\ud800").to_dict()
    assert visitor_key(json.dumps(data).encode()) in (None, b"\xed\xa0\x80")
    # Ids of other JSON types are themselves.
    data = make("page_view", 0, None).to_dict() | {"visitor_id": 7}
    assert visitor_key(json.dumps(data, separators=(",", ":")).encode()) == 7


def test_revenue_without_a_visitor_is_converted_when_read_in_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "events.jsonl"
    write_jsonl(log, [*scenario(), *_shared_orders()])
    rates = tmp_path / "rates.toml"
    rates.write_text('currency = "EUR"\n[rates]\nUSD = 0.5\n', encoding="utf-8")
    whole = load_report(log, GOALS, since=T0, rates=rates, engine="python")
    monkeypatch.setattr("convsdk.report.jsonl.reader.PART_BYTES", 500)
    parts = load_report(log, GOALS, since=T0, rates=rates, engine="python")
    assert parts.summary.anonymous.revenue == whole.summary.anonymous.revenue
    # The scenario's anonymous USD 50 order, and T2's USD 11 and T9's USD 50 here.
    assert parts.summary.anonymous.revenue == {"EUR": 55.5}
    assert parts.to_dict() | {"meta": None} == whole.to_dict() | {"meta": None}


def test_a_log_in_parts_holds_one_parts_visitors_at_a_time(tmp_path: Path) -> None:
    # Visitors arriving from a referrer and a campaign of their own: what a visitor's
    # state holds is theirs alone.
    events = [
        make("page_view", n, f"v{n}", referrer=f"https://r{n}.example/", utm={"source": f"s{n}"})
        for n in range(20_000)
    ]
    log = tmp_path / "events.jsonl"
    write_jsonl(log, events)
    size = log.stat().st_size

    def peak(part_bytes: int) -> int:
        tracemalloc.start()
        try:
            dataset = FileReader(log, part_bytes=part_bytes).read()
            assert sum(1 for _ in dataset.visitors) == 20_000
            assert dataset.events == 20_000
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    one, four = peak(size), peak(size // 4 + 1)
    # Measured: 36.8 MB in one pass, 20.7 MB in four parts, of which about 16 MB are
    # the block of lines read at a time, whatever the parts.
    assert four < one * 0.7, (one, four)


def test_a_log_truncated_between_parts_is_an_error_not_a_wrong_report(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    write_jsonl(log, [make("page_view", n, f"v{n}") for n in range(200)])
    dataset = FileReader(log, part_bytes=log.stat().st_size // 3).read()
    people = iter(dataset.visitors)
    next(people)  # the first part is read
    with open(log, "r+b") as fh:  # copytruncate, as some log rotations do
        fh.truncate(log.stat().st_size // 2)
    with pytest.raises(BackendError, match="changed while it was read"):
        list(people)
