import datetime as dt
import random
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, connections, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from portal import audit_actions as actions
from portal.audit import AuditError, audit_record, compute_hash, register_action, verify_chain
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def _write(n=3):
    return [
        audit_record(action=actions.LOGOUT.name, actor_label="system", details={"i": i})
        for i in range(n)
    ]


def _untriggered(sql, params=()):
    """Run SQL with the append-only trigger off, the way an attacker with table rights could."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE portal_auditevent DISABLE TRIGGER audit_append_only")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE portal_auditevent ENABLE TRIGGER audit_append_only")


def test_rows_chain_each_to_the_previous_hash():
    first, second, third = _write()
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert [e.seq for e in (first, second, third)] == [1, 2, 3]
    stored = AuditEvent.objects.get(pk=third.pk)
    assert compute_hash(stored, stored.prev_hash) == third.hash


def test_time_is_utc_with_microseconds_and_request_id_is_empty_outside_requests():
    event = _write(1)[0]
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.at.utcoffset().total_seconds() == 0
    assert stored.at == event.at  # microseconds survive the database round trip
    assert stored.request_id == ""


def test_rolled_back_action_leaves_no_row():
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        audit_record(action=actions.LOGOUT.name, actor_label="system")
        raise Boom
    assert AuditEvent.objects.count() == 0
    assert verify_chain().ok


def test_update_is_refused_by_the_database():
    event = _write(1)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(details={"forged": True})
    assert AuditEvent.objects.get(pk=event.pk).details == {"i": 0}


def test_delete_is_refused_by_the_database():
    event = _write(1)[0]
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM portal_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_unknown_action_is_refused():
    with pytest.raises(AuditError, match="Unknown audit action"):
        audit_record(action="made.up", actor_label="system")


def test_actions_that_need_a_reason_refuse_without_one():
    with pytest.raises(AuditError, match="needs a reason"):
        audit_record(action=actions.MFA_RESET.name, actor_label="system", reason="  ")


def test_actions_that_need_a_case_refuse_without_one():
    register_action("test.case_needed", "Only in tests", needs_case=True)
    with pytest.raises(AuditError, match="case reference"):
        audit_record(action="test.case_needed", actor_label="system")
    assert audit_record(action="test.case_needed", actor_label="x", case_ref="24-0001").case_ref


def test_seq_is_unique_so_a_second_head_cannot_be_inserted():
    first = _write(1)[0]
    forged = AuditEvent(
        **{
            f.attname: getattr(first, f.attname)
            for f in AuditEvent._meta.fields
            if f.attname != "id"
        }
    )
    forged.hash = "f" * 64
    with pytest.raises(IntegrityError), transaction.atomic():
        forged.save(force_insert=True)


def test_verify_passes_on_an_untouched_chain(capsys):
    _write(5)
    call_command("audit_verify")
    assert "OK: 5 audit events" in capsys.readouterr().out


def test_verify_finds_details_changed_with_the_trigger_disabled():
    events = _write(5)
    _untriggered(
        "UPDATE portal_auditevent SET details = %s WHERE id = %s", ['{"i": 99}', events[2].pk]
    )
    report = verify_chain()
    assert not report.ok and report.broken_seq == 3 and report.count == 2
    assert "altered" in report.problem
    with pytest.raises(CommandError, match="BROKEN at seq 3"):
        call_command("audit_verify")


def test_verify_finds_a_deleted_row():
    events = _write(5)
    _untriggered("DELETE FROM portal_auditevent WHERE id = %s", [events[1].pk])
    report = verify_chain()
    assert not report.ok and report.broken_seq == 3
    assert "missing" in report.problem


def test_verify_finds_a_deleted_row_even_when_seq_is_renumbered():
    events = _write(5)
    _untriggered("DELETE FROM portal_auditevent WHERE id = %s", [events[1].pk])
    _untriggered("UPDATE portal_auditevent SET seq = -(seq - 1) WHERE seq > 2")
    _untriggered("UPDATE portal_auditevent SET seq = -seq WHERE seq < 0")
    report = verify_chain()
    assert not report.ok and report.broken_seq == 2


def test_verify_finds_two_swapped_rows():
    events = _write(5)
    a, b = events[1], events[3]
    _untriggered(
        "UPDATE portal_auditevent SET seq = CASE id WHEN %s THEN %s ELSE %s END WHERE id IN (%s, %s)",
        [a.pk, -b.seq, -a.seq, a.pk, b.pk],
    )
    _untriggered("UPDATE portal_auditevent SET seq = -seq WHERE seq < 0")
    report = verify_chain()
    assert not report.ok and report.broken_seq == 2
    assert "reordered" in report.problem


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_leave_one_unbroken_chain():
    writers, per_writer = 8, 25
    barrier = threading.Barrier(writers)
    errors = []

    def write(n):
        try:
            barrier.wait()
            for i in range(per_writer):
                with transaction.atomic():
                    audit_record(
                        action=actions.LOGOUT.name, actor_label=f"writer {n}", details={"i": i}
                    )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify_chain()
    assert report.ok, report.problem
    assert report.count == writers * per_writer
    assert AuditEvent.objects.values("prev_hash").distinct().count() == writers * per_writer


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_with_rollbacks_leave_one_chain_of_exactly_the_committed_events():
    """Writers in threads, some of whose transactions roll back after appending (and some
    append twice in one): verify_chain finds one intact chain holding exactly the events
    that committed, in seq order, and none that rolled back."""
    writers, per_writer = 6, 20
    barrier = threading.Barrier(writers)
    errors, committed = [], []

    class Undo(Exception):
        pass

    def write(n):
        rng = random.Random(n)
        try:
            barrier.wait()
            for i in range(per_writer):
                twice, undo = rng.random() < 0.3, rng.random() < 0.3
                labels = [f"w{n}-{i}-{k}" for k in range(2 if twice else 1)]
                try:
                    with transaction.atomic():
                        for label in labels:
                            audit_record(action=actions.LOGOUT.name, actor_label=label)
                        if undo:
                            raise Undo
                except Undo:
                    continue
                committed.extend(labels)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify_chain()
    assert report.ok, report.problem
    stored = list(AuditEvent.objects.order_by("seq").values_list("seq", "actor_label"))
    assert [seq for seq, _ in stored] == list(range(1, len(committed) + 1))
    assert sorted(label for _, label in stored) == sorted(committed)
    assert report.count == len(committed) < writers * per_writer


def _wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.mark.django_db(transaction=True)
def test_a_writer_queued_behind_an_open_transaction_gets_a_time_after_the_rows_ahead_of_it():
    """`at` keeps to seq order: a writer that waits for the append lock while another
    transaction appends and goes on a while is stamped when it gets the lock, not before the
    rows ahead of it (the checkpoints' head_at, the months and the exports rely on this)."""
    result: dict = {}

    def queued():
        try:
            result["event"] = audit_record(action=actions.LOGOUT.name, actor_label="queued")
        except Exception as exc:  # noqa: BLE001 - reported below
            result["error"] = exc
        finally:
            connections.close_all()

    def waiters() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            return cursor.fetchone()[0]

    thread = threading.Thread(target=queued)
    with transaction.atomic():
        audit_record(action=actions.LOGOUT.name, actor_label="holder")  # holds the lock
        thread.start()
        _wait_for(lambda: waiters() == 1, "the queued writer to wait for the append lock")
        ahead = audit_record(action=actions.LOGOUT.name, actor_label="ahead")
        # The holder's transaction goes on for a while after its last append.
        _wait_for(
            lambda: timezone.now() - ahead.at > dt.timedelta(milliseconds=200), "time to pass"
        )
    thread.join(timeout=30)
    assert "error" not in result, result.get("error")
    rows = list(AuditEvent.objects.order_by("seq").values_list("actor_label", "at"))
    assert [label for label, _ in rows] == ["holder", "ahead", "queued"]
    assert rows[0][1] <= rows[1][1] < rows[2][1]
    assert result["event"].at == rows[2][1]
    assert compute_hash(result["event"], result["event"].prev_hash) == result["event"].hash
    assert verify_chain().ok


def test_the_hash_the_database_makes_is_the_hash_of_canonical_json(police, make_staff):
    """The append hashes in PostgreSQL, around the seq it assigns: the same hash Python
    gives for awkward text, and for details and ids that hold what the seq is found by."""
    staff = make_staff()
    events = [
        audit_record(
            action=actions.LOGOUT.name,
            actor=staff,
            target=("portal.user", 'x","seq":0,"target_id":"y'),
            reason='Quote " backslash \\ é 漢字 😀 \u2028 "seq":0,"target_id":',
            details={"seq": 0, "target_id": "z", "t": '"seq":0,"target_id":'},
        ),
        audit_record(action=actions.LOGOUT.name, actor_label="Zoë", agency=police),
        # The time's stand-in text (the database puts the real time there) in the text fields
        # before and after the time, and as a key of details.
        audit_record(
            action=actions.LOGOUT.name,
            actor_label='"at":"1970-01-01T00:00:00.000000+00:00","case_ref":',
            case_ref='"at":"1970-01-01T00:00:00.000000+00:00","case_ref":',
            details={"at": "1970-01-01T00:00:00.000000+00:00", "case_ref": "", "seq": 0},
        ),
    ]
    for event in events:
        stored = AuditEvent.objects.get(pk=event.pk)
        assert (stored.seq, stored.prev_hash, stored.hash) == (
            event.seq,
            event.prev_hash,
            event.hash,
        )
        assert compute_hash(stored, stored.prev_hash) == event.hash
    assert events[1].prev_hash == events[0].hash
    assert all(e.at.year == timezone.now().year for e in events)
    assert verify_chain().ok


def test_the_verifier_rebuilds_exactly_the_bytes_each_row_was_hashed_over(police, make_staff):
    """verify_chain rebuilds rows from plain columns (for speed): the same bytes as
    canonical_json for awkward text, nesting, numbers, nulls and an actor with an agency."""
    from portal.audit import (
        _VERIFY_SQL,
        _canonical_of_columns,
        _details_canonicalizer,
        canonical_json,
    )

    staff = make_staff()
    audit_record(action=actions.LOGOUT.name, actor_label="system")
    audit_record(
        action=actions.LOGOUT.name,
        actor=staff,
        reason='Quote " backslash \\ newline \n tab \t controls \x01 \x1f \x7f \b \f \r é 漢字 😀 \u2028',
        details={
            "z": [1, 2.5, -3, 1e-07, None, True, {"b": 1, "a": "ä"}],
            "a": {"nested": {"y": 1, "x": "\u0001\u007f"}},
            "n": 12345678901234567890,
            "f": 0.1,
        },
    )
    audit_record(action=actions.LOGOUT.name, actor_label="Zoë <tag> & 'apos'", agency=police)
    with connection.cursor() as cursor:
        cursor.execute(_VERIFY_SQL)
        details_canonical = _details_canonicalizer()
        rebuilt = [_canonical_of_columns(row, details_canonical) for row in cursor.fetchall()]
    assert rebuilt == [canonical_json(e) for e in AuditEvent.objects.order_by("seq")]
    assert verify_chain().ok


def _both_ways():
    """The report of one walk and of the chain split into runs checked by worker processes."""
    one = verify_chain(workers=1)
    for workers in (2, 3):
        split = verify_chain(workers=workers, parallel_min_rows=1)
        assert split == one, (workers, split, one)
    return one


@pytest.mark.django_db(transaction=True)
def test_the_chain_split_across_processes_gives_the_same_report_as_one_walk():
    events = _write(12)
    report = _both_ways()
    assert report.ok and report.count == 12 and report.head_hash == events[-1].hash
    # A row altered at the start of the second and third runs, and inside one.
    for altered in (events[4], events[8], events[6], events[0], events[11]):
        _untriggered(
            "UPDATE portal_auditevent SET details = %s WHERE id = %s", ['{"i": -1}', altered.pk]
        )
        report = _both_ways()
        assert not report.ok and "altered" in report.problem
        _untriggered(
            "UPDATE portal_auditevent SET details = %s WHERE id = %s",
            [f'{{"i": {altered.details["i"]}}}', altered.pk],
        )
    assert _both_ways().ok


@pytest.mark.django_db(transaction=True)
def test_split_walks_find_missing_and_reordered_rows_where_one_walk_does():
    events = _write(12)
    # Rows 5 and 9 swapped (across runs), then row 4 deleted (the end of the first run).
    a, b = events[4], events[8]
    _untriggered(
        "UPDATE portal_auditevent SET seq = CASE id WHEN %s THEN %s ELSE %s END WHERE id IN (%s, %s)",
        [a.pk, -b.seq, -a.seq, a.pk, b.pk],
    )
    _untriggered("UPDATE portal_auditevent SET seq = -seq WHERE seq < 0")
    report = _both_ways()
    assert not report.ok and report.broken_seq == 5 and "reordered" in report.problem
    assert report.count == 4 and report.broken_id == b.pk
    _untriggered("DELETE FROM portal_auditevent WHERE id = %s", [events[3].pk])
    report = _both_ways()
    assert not report.ok and report.broken_seq == 5 and "missing" in report.problem
    # The first row gone: the chain no longer starts at 1.
    _untriggered("DELETE FROM portal_auditevent WHERE id = %s", [events[0].pk])
    report = _both_ways()
    assert not report.ok and report.broken_seq == 2 and report.count == 0


@pytest.mark.django_db(transaction=True)
def test_a_truncated_tail_and_an_empty_log_read_the_same_split_or_not():
    assert _both_ways() == verify_chain()
    events = _write(9)
    _untriggered("DELETE FROM portal_auditevent WHERE seq > 6")
    report = _both_ways()
    assert report.ok and report.count == 6 and report.head_hash == events[5].hash
