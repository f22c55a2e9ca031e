"""The account-event log on NATS JetStream: accounts spread over partitions the same way
everywhere, any login makes a valid subject, a batch published is read back in order, once even
when published again, from any position, one account by its subject, with the lag counted; the
settings refuse what means nothing."""

from __future__ import annotations

import re
import zlib

import pytest
from django.core.exceptions import ImproperlyConfigured

from propdesk.platforms import feeds, natslog
from propdesk.platforms.natsfeed import NatsFeed
from propdesk.settings import event_log_setting


def equity(n, login="1001"):
    return (login, {"kind": "equity", "at": "2026-12-06T05:00:00Z", "equity": str(n)}, f"eq:{n}")


def read_all(feed, after=0, limit=1000):
    found = []
    while page := feed.read(after=after, limit=limit):
        found += page
        after = page[-1].position
    return found


def test_an_accounts_partition_is_a_crc32_of_its_login_the_same_in_every_process(settings):
    settings.EVENT_PARTITIONS = 8
    assert natslog.partition_of("1001") == zlib.crc32(b"1001") % 8
    # Fixed values, not Python's hash() (which changes from process to process).
    assert [natslog.partition_of(login) for login in ("1001", "700001")] == [1, 0]
    settings.EVENT_PARTITIONS = 1
    assert natslog.partition_of("anything") == 0


def test_accounts_spread_over_every_partition(settings):
    settings.EVENT_PARTITIONS = 8
    counts = [0] * 8
    for login in range(100_000, 108_000):
        counts[natslog.partition_of(str(login))] += 1
    assert min(counts) > 800
    assert max(counts) < 1200


def test_a_feed_key_names_the_partition_in_nats_mode_and_the_server_otherwise(settings):
    settings.EVENT_PARTITIONS = 8
    settings.EVENT_LOG = "database"
    assert feeds.feed_key_for(3, "1001") == "log:3"
    settings.EVENT_LOG = "nats://127.0.0.1:4222"
    assert feeds.feed_key_for(3, "1001") == f"nats:{natslog.partition_of('1001')}"
    assert natslog.feed_key(3, "1001") == feeds.feed_key_for(3, "1001")


@pytest.mark.parametrize("login", ["1001", "a.b", "with space", "ünï.cødé", "x*y>z", "=3D", "-_"])
def test_any_login_is_one_valid_subject_token_and_comes_back(login):
    token = natslog.login_token(login)
    assert re.fullmatch(r"[A-Za-z0-9_=-]+", token)
    assert natslog.login_of(token) == login


def test_a_published_batch_is_read_back_in_order(nats_log):
    events = [equity(n) for n in range(50)]
    assert natslog.publish(7, events) == 50
    feed = NatsFeed(natslog.partition_of("1001"))
    read = read_all(feed, limit=20)
    assert [(e.server_id, e.login, e.payload) for e in read] == [
        (7, "1001", p) for _, p, _ in events
    ]
    positions = [e.position for e in read]
    assert positions == sorted(positions)
    assert len(set(positions)) == 50
    feed.close()


def test_a_batch_published_again_is_stored_once(nats_log):
    events = [equity(n) for n in range(10)]
    assert natslog.publish(7, events) == 10
    assert natslog.publish(7, [*events[5:], equity(10)]) == 1  # after a crash: the tail again
    feed = NatsFeed(natslog.partition_of("1001"))
    assert [e.payload["equity"] for e in read_all(feed)] == [str(n) for n in range(11)]
    feed.close()


def test_the_same_source_on_two_servers_is_two_events(nats_log):
    assert natslog.publish(1, [equity(1)]) == 1
    assert natslog.publish(2, [equity(1)]) == 1


def test_a_login_with_dots_and_unicode_is_read_back_as_it_was(nats_log):
    login = "ünï.cødé 7"
    natslog.publish(3, [equity(1, login)])
    with NatsFeed(natslog.partition_of(login)) as feed:
        (event,) = feed.read(after=0, limit=10)
    assert (event.server_id, event.login) == (3, login)


def test_a_read_from_a_middle_position_gives_what_follows_it(nats_log):
    natslog.publish(7, [equity(n) for n in range(30)])
    feed = NatsFeed(natslog.partition_of("1001"))
    everything = read_all(feed)
    middle = everything[11].position
    assert feed.read(after=middle, limit=5) == everything[12:17]
    assert read_all(feed, after=everything[3].position) == everything[4:]  # back, then on
    assert feed.read(after=everything[-1].position, limit=5) == []
    feed.close()


def test_a_partition_holds_only_its_own_accounts(nats_log):
    logins = [str(n) for n in range(2000, 2040)]
    natslog.publish(1, [equity(i, login) for i, login in enumerate(logins)])
    for partition in range(8):
        with NatsFeed(partition) as feed:
            read = read_all(feed)
        assert {e.login for e in read} == {
            x for x in logins if natslog.partition_of(x) == partition
        }


def test_an_accounts_events_are_read_by_its_subject_within_the_bounds(nats_log):
    mine, other = (
        "5001",
        next(
            str(n)
            for n in range(5002, 6000)
            if natslog.partition_of(str(n)) == natslog.partition_of("5001")
        ),
    )
    natslog.publish(1, [equity(n, mine if n % 2 else other) for n in range(20)])
    natslog.publish(2, [equity(99, mine)])  # the same login on another server
    feed = NatsFeed(natslog.partition_of(mine))
    everything = read_all(feed)
    ours = [e for e in everything if (e.server_id, e.login) == (1, mine)]
    assert feed.account_events(1, mine, after=0, upto=everything[-1].position) == ours
    after, upto = ours[2].position, ours[6].position
    assert feed.account_events(1, mine, after=after, upto=upto) == ours[3:7]
    assert feed.account_events(1, mine, after=upto, upto=upto) == []
    feed.close()


def test_the_lag_counts_what_is_left_and_reads_zero_at_the_end(nats_log):
    feed = NatsFeed(natslog.partition_of("1001"))
    assert feed.lag(after=0).events == 0
    natslog.publish(7, [equity(n) for n in range(12)])
    lag = feed.lag(after=0)
    assert lag.events == 12
    assert 0 <= lag.seconds < 60
    read = feed.read(after=0, limit=5)
    assert feed.lag(after=read[-1].position).events == 7
    rest = read_all(feed, after=read[-1].position)
    assert feed.lag(after=rest[-1].position) == feeds.Lag(0, 0.0)
    feed.close()


def test_a_wait_returns_at_once_when_events_are_there_and_false_after_its_timeout(nats_log):
    feed = NatsFeed(natslog.partition_of("1001"))
    assert feed.wait(after=0, timeout=0.3) is False
    natslog.publish(7, [equity(1)])
    assert feed.wait(after=0, timeout=5) is True
    (event,) = feed.read(after=0, limit=10)
    assert feed.wait(after=event.position, timeout=0.2) is False
    feed.close()


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PROPDESK_EVENT_LOG", "kafka://x:1", "PROPDESK_EVENT_LOG must be"),
        ("PROPDESK_EVENT_LOG", "nats://127.0.0.1", "nats://host:port"),
        ("PROPDESK_EVENT_PARTITIONS", "0", "from 1 to 1024"),
        ("PROPDESK_EVENT_PARTITIONS", "2000", "from 1 to 1024"),
        ("PROPDESK_EVENT_STREAM", "a.b", "PROPDESK_EVENT_STREAM must be"),
        ("PROPDESK_EVENT_RETENTION_DAYS", "-1", "PROPDESK_EVENT_RETENTION_DAYS must be"),
    ],
)
def test_an_event_log_setting_that_means_nothing_stops_the_start(name, value, says):
    with pytest.raises(ImproperlyConfigured, match=re.escape(says)):
        event_log_setting({name: value})


def test_the_event_log_settings_default_to_the_database():
    assert event_log_setting({}) == {
        "EVENT_LOG": "database",
        "EVENT_PARTITIONS": 8,
        "EVENT_STREAM": "PROPDESK_EVENTS",
        "EVENT_RETENTION_DAYS": 7,
    }
    assert event_log_setting({"PROPDESK_EVENT_LOG": "nats://nats.internal:4222"})["EVENT_LOG"] == (
        "nats://nats.internal:4222"
    )
