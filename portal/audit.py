"""The audit log: a registry of named actions, the one helper that appends, and the verifier.

Each row's hash is SHA-256 over its canonical JSON plus the previous row's hash, so any
edit, deletion, insertion or reordering breaks the chain at a row `verify_chain` names.

The chain rule: rows are numbered 1, 2, 3... by `seq` with no gap, each row's prev_hash is
the hash of the row numbered one less (GENESIS_HASH for the first), and seq order is commit
order. A rolled-back append leaves nothing behind, neither a row nor a gap.

How appends keep it: one statement per append (canvass_audit_append, migrations
portal/0006 to 0008) takes a transaction-scoped advisory lock, reads the last row, and
inserts the next with its hash computed in PostgreSQL over the canonical JSON Python sends
around the time and the seq. The time is Python's clock, plus the wait for the lock when
another transaction held it, so `at`
is taken under the lock and keeps to seq order (checkpoints' head_at, months, exports). The lock is held until the writer's transaction ends, so the next writer reads a
committed last row (or, after a rollback, the same last row again): no fork, no gap, and
every reader (verify_chain, checkpoints, custody proofs, exports) sees a finished chain the
moment a row is visible, with its seq and hash known to the caller at once. The price is one
append per commit across all writers: the rate is bounded by commit (WAL flush) latency.
A sealer (writers insert unnumbered rows, one process numbers and hashes committed rows in
order later) would lift that bound but leaves every reader with rows not yet in the chain,
and rows a test's own transaction writes could never be sealed inside it; see
bench/audit_append.py for the figures.
"""

import contextlib
import copy
import datetime as dt
import decimal
import hashlib
import itertools
import json
import json.scanner
import multiprocessing
import os
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
import psycopg.sql
from django.db import connection, transaction
from django.utils import timezone

from portal.context import current_request_id
from portal.models import AuditEvent, User

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

GENESIS_HASH = "0" * 64
# An arbitrary constant naming the audit-append lock among PostgreSQL advisory locks.
_APPEND_LOCK_KEY = 0x43414E5641535331


@dataclass(frozen=True)
class AuditAction:
    name: str
    description: str
    needs_reason: bool = False
    needs_case: bool = False


_ACTIONS: dict[str, AuditAction] = {}


def register_action(
    name: str, description: str, *, needs_reason: bool = False, needs_case: bool = False
) -> AuditAction:
    """Add a named action to the registry; apps call this when they load."""
    if name in _ACTIONS and _ACTIONS[name].description != description:
        raise ValueError(f"Audit action {name!r} is already registered differently.")
    _ACTIONS[name] = AuditAction(name, description, needs_reason, needs_case)
    return _ACTIONS[name]


def registered_actions() -> list[AuditAction]:
    return sorted(_ACTIONS.values(), key=lambda a: a.name)


def action_description(name: str) -> str:
    """The registered action's description in words; the name itself if it is unknown."""
    action = _ACTIONS.get(name)
    return action.description if action else name


class AuditError(ValueError):
    pass


def _target_of(target) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, tuple):
        return target[0], str(target[1])
    return target._meta.label_lower, str(target.pk)


def _actor_fields(actor: "User | AnonymousUser | None", actor_label: str) -> dict[str, Any]:
    if actor is None or not actor.is_authenticated:
        return {
            "actor": None,
            "actor_label": actor_label or "anonymous",
            "actor_role": "",
            "actor_agency": "",
        }
    return {
        "actor": actor,
        "actor_label": actor.label,
        "actor_role": actor.role,
        "actor_agency": actor.agency.name if actor.agency is not None else "",
    }


def canonical_json(event: AuditEvent) -> str:
    """The exact bytes a row's hash covers, rebuilt the same way by the verifier."""
    return json.dumps(
        {
            "seq": event.seq,
            "at": event.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor_id": event.actor_id,
            "actor_label": event.actor_label,
            "actor_role": event.actor_role,
            "actor_agency": event.actor_agency,
            "agency_id": event.agency_id,
            "action": event.action,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "reason": event.reason,
            "case_ref": event.case_ref,
            "request_id": event.request_id,
            "outcome": event.outcome,
            "details": event.details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


# What follows "seq" in canonical_json: its keys are sorted and "target_id" comes next.
_AFTER_SEQ = ',"target_id":'
# A stand-in for the time in the text sent to the database, which puts in the real one.
_AT_STANDIN = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_AT_TEXT = '"at":"1970-01-01T00:00:00.000000+00:00","case_ref":'


def _canonical_around_at_and_seq(event: AuditEvent) -> tuple[str, str, str]:
    """canonical_json in three parts, around the time's text and the seq's digits: the
    database fills in both under the append lock, and hashes
    head + at + mid + seq + tail + "|" + prev_hash."""
    saved = event.seq, event.at
    event.seq, event.at = 0, _AT_STANDIN
    try:
        text = canonical_json(event)
    finally:
        event.seq, event.at = saved
    # String values are escaped (a quote in one is \"), so a key with its quotes is found only
    # where it is a key. The first '"at":...,"case_ref":' is the row's own: only action, actor
    # and agency fields come before it (details, which may hold the same text, come after).
    head, found, rest = text.partition(_AT_TEXT)
    if not found:
        raise AssertionError("canonical_json has no at before case_ref")
    # The last '"seq":0,"target_id":' is the seq's own: after it come only target_id's and
    # target_type's text.
    mid, found, tail = rest.rpartition('"seq":0' + _AFTER_SEQ)
    if not found:
        raise AssertionError("canonical_json has no seq before target_id")
    return head + '"at":"', '","case_ref":' + mid + '"seq":', _AFTER_SEQ + tail


def compute_hash(event: AuditEvent, prev_hash: str) -> str:
    payload = (canonical_json(event) + "|" + prev_hash).encode()
    return hashlib.sha256(payload).hexdigest()


def _jsonb_number(value: float) -> float | int:
    """The number a float becomes once jsonb has kept it and json.loads has read it back.

    jsonb keeps numbers as exact decimals and prints them without an exponent: 1e21 comes
    back as the integer 1000000000000000000000, and -0.0 as 0.0 (a decimal has no signed
    zero). A float Python prints with a negative exponent (1.5e-07) comes back as the same
    float, and one it prints plainly (0.1, 100.0) keeps its text, so neither changes.
    """
    if value == 0:
        return 0.0
    text = repr(value)
    if "e+" in text:
        return int(decimal.Decimal(text))
    return value


def _jsonb_ready(value: Any) -> Any:
    if isinstance(value, float):
        return _jsonb_number(value)
    if isinstance(value, str):
        if "\x00" in value or not _encodable(value):
            raise AuditError(
                "Audit details hold text PostgreSQL cannot hold (a NUL or a lone surrogate)."
            )
        return value
    if isinstance(value, dict):
        return {_jsonb_ready(key): _jsonb_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonb_ready(item) for item in value]
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def canonical_details(details: dict | None) -> dict:
    """Details in the form they are hashed and stored: what jsonb gives back, exactly.

    The verifier rebuilds the hashed bytes from the jsonb column, so anything jsonb would
    print differently (numbers with an exponent, -0.0) is put in jsonb's form first; ordinary
    details pass unchanged and hash as they always did. NaN and Infinity (not JSON) and text
    jsonb refuses are refused here, with a clear error, before anything is written.
    """
    try:
        text = json.dumps(details or {}, default=str, sort_keys=True, allow_nan=False)
    except ValueError as exc:
        raise AuditError("Audit details hold NaN or Infinity, which JSON cannot carry.") from exc
    return _jsonb_ready(json.loads(text))


def audit_record(
    *,
    action: str,
    actor: "User | AnonymousUser | None" = None,
    actor_label: str = "",
    target=None,
    agency=None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    reason: str = "",
    case_ref: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction (or a new one).

    `target` is a model instance or a (type, id) pair; `agency` defaults to the actor's.
    """
    spec = _ACTIONS.get(action)
    if spec is None:
        raise AuditError(f"Unknown audit action {action!r}: register it first.")
    if spec.needs_reason and not reason.strip():
        raise AuditError(f"Audit action {action!r} needs a reason.")
    if spec.needs_case and not case_ref.strip():
        raise AuditError(f"Audit action {action!r} needs a case reference.")
    target_type, target_id = _target_of(target)
    if agency is None and actor is not None and actor.is_authenticated and actor.agency_id:
        agency = actor.agency
    clean_details = canonical_details(details)

    event = AuditEvent(
        seq=0,  # set below, with prev_hash and hash, by the database under the append lock
        at=timezone.now(),
        agency=agency,
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        case_ref=case_ref,
        request_id=current_request_id(),
        outcome=outcome,
        details=clean_details,
        **_actor_fields(actor, actor_label),
    )
    head, mid, tail = _canonical_around_at_and_seq(event)
    # One statement, so no savepoint is needed: it inserts its row or fails whole. Outside a
    # transaction it is its own, and the lock is released when it commits. The database sets
    # `at` too: this time plus the wait for the lock, so `at` keeps to seq order.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o_id, o_seq, o_prev_hash, o_hash, o_at FROM canvass_audit_append("
            "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                _APPEND_LOCK_KEY, head, mid, tail, event.at, event.actor_id, event.actor_label,
                event.actor_role, event.actor_agency, event.agency_id, event.action,
                event.target_type, event.target_id, event.reason, event.case_ref,
                event.request_id, event.outcome, json.dumps(clean_details),
            ],
        )  # fmt: skip
        event.id, event.seq, event.prev_hash, event.hash, event.at = cursor.fetchone()
    event._state.adding = False
    event._state.db = connection.alias
    return event


# --- reading: what a reader may see of stored rows -------------------------------------------

# target_type -> fn(*, actor, events) -> None, which may replace `details` of the (copied)
# events that `actor` may not read in full. Apps register these, as they do their actions.
_DETAILS_FILTERS: dict[str, Callable] = {}


def register_details_filter(target_type: str, fn: Callable) -> Callable:
    """Let the app that owns `target_type` withhold parts of its rows' details from a reader."""
    _DETAILS_FILTERS[target_type] = fn
    return fn


_Event = TypeVar("_Event")  # an AuditEvent, or a row with its attributes (an export's)


def events_for_reader(*, actor: User, events: Iterable[_Event]) -> list[_Event]:
    """The events as `actor` may read them, for every output (page, API, CSV export).

    Rows are hash-chained and stay exactly as stored: withheld details are replaced on copies
    made here, never written back, so the chain (and `verify_chain`) is untouched.
    """
    copies: list[Any] = [copy.copy(event) for event in events]
    by_type: dict[str, list[Any]] = defaultdict(list)
    for event in copies:
        if event.target_type in _DETAILS_FILTERS:
            by_type[event.target_type].append(event)
    for target_type, group in by_type.items():
        _DETAILS_FILTERS[target_type](actor=actor, events=group)
    return copies


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    count: int
    head_hash: str
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str = ""


# The verifier rebuilds each row's canonical JSON from plain column values, not model
# instances, and has PostgreSQL format the time (psycopg's timestamptz conversion costs more
# than the hash): the same bytes as canonical_json (its keys in sorted order, text and details
# through the very encoder json.dumps uses), for a quarter of the CPU model instances cost.
# tests/portal/test_audit_log.py checks both give the same bytes for awkward rows.
_encode_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses
_DETAILS_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_DETAILS_DECODER = json.JSONDecoder()


def _details_codec() -> tuple[Callable[[str], Any], Callable[[Any], str]]:
    """(parse, encode) for details text: json.loads and _DETAILS_ENCODER.encode, or the C
    scanner and C encoder those two call, made once instead of on every row (half the cost)."""
    # The C halves of json.loads and JSONEncoder.encode (None in a Python without _json).
    scanner = getattr(json.scanner, "c_make_scanner", None)
    make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if scanner is None or make_encoder is None:
        return json.loads, _DETAILS_ENCODER.encode
    scan = scanner(_DETAILS_DECODER)
    enc = _DETAILS_ENCODER
    iterencode = make_encoder(
        {}, enc.default, _encode_string, None, enc.key_separator, enc.item_separator,
        enc.sort_keys, enc.skipkeys, enc.allow_nan,
    )  # fmt: skip

    def parse(text: str) -> Any:
        value, end = scan(text, 0)
        if end != len(text):  # jsonb text never has anything after its value; be exact anyway
            return json.loads(text)
        return value

    def encode(value: Any) -> str:
        return "".join(iterencode(value, 0))

    return parse, encode


_parse_details, _encode_details = _details_codec()
# Most rows' details repeat ({"via": "page"} on every view), so the canonical text of recent
# details texts is kept (a pure function of the text: nothing is assumed of any row).
_DETAILS_MEMO_SIZE = 4096


def _details_canonicalizer() -> Callable[[str], str]:
    memo: dict[str, str] = {"{}": "{}"}
    parse, encode = _parse_details, _encode_details

    def canonical(text: str) -> str:
        try:
            return memo[text]
        except KeyError:
            pass
        if len(memo) >= _DETAILS_MEMO_SIZE:
            memo.clear()
            memo["{}"] = "{}"
        memo[text] = result = encode(parse(text))
        return result

    return canonical


_VERIFY_COLUMNS = """
    SELECT seq, action, actor_agency, actor_id, actor_label, actor_role, agency_id,
           to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
           case_ref, details::text, outcome, reason, request_id, target_id, target_type,
           prev_hash, hash
    FROM portal_auditevent
"""
_VERIFY_SQL = _VERIFY_COLUMNS + " ORDER BY seq"
_VERIFY_RANGE_SQL = _VERIFY_COLUMNS + " WHERE seq >= %s AND seq < %s ORDER BY seq"
_VERIFY_BATCH = 10_000


def _canonical_of_columns(row: tuple, details_canonical: Callable[[str], str]) -> str:
    """canonical_json of a row given as _VERIFY_SQL's columns."""
    (seq, action, actor_agency, actor_id, actor_label, actor_role, agency_id, at,
     case_ref, details, outcome, reason, request_id, target_id, target_type, _p, _h) = row  # fmt: skip
    s = _encode_string
    return (
        f'{{"action":{s(action)},"actor_agency":{s(actor_agency)},'
        f'"actor_id":{"null" if actor_id is None else actor_id},'
        f'"actor_label":{s(actor_label)},"actor_role":{s(actor_role)},'
        f'"agency_id":{"null" if agency_id is None else agency_id},"at":"{at}",'
        f'"case_ref":{s(case_ref)},'
        f'"details":{details_canonical(details)},'
        f'"outcome":{s(outcome)},"reason":{s(reason)},"request_id":{s(request_id)},'
        f'"seq":{seq},"target_id":{s(target_id)},"target_type":{s(target_type)}}}'
    )


def _fetch_batches(cursor, batches: queue.Queue, stop: threading.Event) -> None:
    """Fetch the rows into `batches` (an empty list ends them; an exception is passed on)."""
    try:
        while not stop.is_set():
            batch = cursor.fetchmany(_VERIFY_BATCH)
            batches.put(batch)
            if not batch:
                return
    except BaseException as exc:  # noqa: BLE001 - handed to the verifying thread, raised there
        batches.put(exc)


def _batches_ahead(cursor) -> Generator[list[tuple], None, None]:
    """The cursor's rows in batches, the next fetched by a thread while this one is checked.

    psycopg lets go of the GIL while it waits for PostgreSQL, so the server reads and sends
    the next batch while Python hashes this one; the queue holds at most two batches ahead.
    """
    batches: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    fetcher = threading.Thread(
        target=_fetch_batches, args=(cursor, batches, stop), name="audit-verify-fetch"
    )
    fetcher.start()
    try:
        while True:
            batch = batches.get()
            if isinstance(batch, BaseException):
                raise batch
            if not batch:
                return
            yield batch
    finally:
        stop.set()
        while fetcher.is_alive():  # unblock a fetcher waiting on a full queue, then let it end
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.05)
        fetcher.join()


_REORDERED = (
    "prev_hash does not match the hash of the row before it (rows removed, inserted or reordered)"
)
_ALTERED = "the row's content does not match its hash (row altered)"


def _jump(expected_seq: int, seq: int) -> str:
    return f"sequence jumps from {expected_seq - 1} to {seq}: {seq - expected_seq} row(s) missing"


@dataclass(frozen=True)
class _Walk:
    """What walking a run of rows found: where it ended, or the first row that did not fit."""

    count: int  # rows that fit, before `broken_seq` if any
    expected_seq: int  # the seq the next row must have
    prev_hash: str  # the hash of the last row that fit
    first: tuple[int, str] | None = None  # (seq, prev_hash) of the run's first row
    broken_seq: int | None = None
    problem: str = ""


def _walk(
    batches: Iterable[list[tuple]], expected_seq: int, prev_hash: str, *, link_first: bool = True
) -> _Walk:
    """Check each row against the one before it and against its own hash, in seq order.

    With link_first=False the first row's place in the chain is not checked here (its seq and
    prev_hash are returned in `first` for the caller to link to the rows before), only its
    content: how a run in the middle of the chain is checked on its own.
    """
    sha256 = hashlib.sha256
    canonical = _canonical_of_columns
    details_canonical = _details_canonicalizer()
    count, first = 0, None
    for batch in batches:
        for row in batch:
            seq, row_prev, row_hash = row[0], row[15], row[16]
            if first is None:
                first = (seq, row_prev)
                if not link_first:
                    expected_seq, prev_hash = seq, row_prev
            problem = ""
            if seq != expected_seq:
                problem = _jump(expected_seq, seq)
            elif row_prev != prev_hash:
                problem = _REORDERED
            elif (
                sha256((canonical(row, details_canonical) + "|" + row_prev).encode()).hexdigest()
                != row_hash
            ):
                problem = _ALTERED
            if problem:
                return _Walk(count, expected_seq, prev_hash, first, seq, problem)
            expected_seq, prev_hash, count = seq + 1, row_hash, count + 1
    return _Walk(count, expected_seq, prev_hash, first)


def _report(walk: _Walk, cursor) -> ChainReport:
    if walk.broken_seq is None:
        return ChainReport(True, walk.count, walk.prev_hash)
    cursor.execute("SELECT id FROM portal_auditevent WHERE seq = %s", [walk.broken_seq])
    found = cursor.fetchone()
    return ChainReport(
        False,
        walk.count,
        walk.prev_hash,
        walk.broken_seq,
        found[0] if found else None,
        walk.problem,
    )


# Below this many rows one process is quicker than starting others.
PARALLEL_MIN_ROWS = 200_000


def _walk_run(snapshot: str, low: int, high: int) -> _Walk:
    """Walk the rows with low <= seq < high, in a worker process, in the exported snapshot.

    A connection of its own (never the parent's, whose socket the fork shares), so every
    run reads exactly the rows the parent's transaction sees.
    """
    with psycopg.connect(**connection.get_connection_params()) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.cursor() as cursor:
            cursor.execute(
                psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg.sql.Literal(snapshot))
            )
        with conn.cursor(name="audit_verify_run") as cursor:
            cursor.execute(_VERIFY_RANGE_SQL, [low, high])
            with contextlib.closing(_batches_ahead(cursor)) as batches:
                return _walk(batches, low, GENESIS_HASH, link_first=False)


def _walk_in_parallel(snapshot: str, low: int, high: int, workers: int) -> _Walk:
    """Walk [low, high] as `workers` runs at once, then link each run to the one before it:
    a run's first row is checked here exactly as _walk checks any row against the last."""
    step = (high - low) // workers + 1
    bounds = [low + n * step for n in range(workers)] + [high + 1]
    runs = [(snapshot, a, b) for a, b in itertools.pairwise(bounds) if a < b]
    with multiprocessing.get_context("fork").Pool(len(runs)) as pool:
        walks = pool.starmap(_walk_run, runs)
        pool.close()
        pool.join()
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for run in walks:
        if run.first is None:
            continue
        seq, row_prev = run.first
        problem = ""
        if seq != expected_seq:
            problem = _jump(expected_seq, seq)
        elif row_prev != prev_hash:
            problem = _REORDERED
        if problem:
            return _Walk(count, expected_seq, prev_hash, None, seq, problem)
        if run.broken_seq is not None:
            return _Walk(
                count + run.count,
                run.expected_seq,
                run.prev_hash,
                None,
                run.broken_seq,
                run.problem,
            )
        expected_seq, prev_hash, count = run.expected_seq, run.prev_hash, count + run.count
    return _Walk(count, expected_seq, prev_hash)


def verify_chain(
    *, workers: int | None = None, parallel_min_rows: int = PARALLEL_MIN_ROWS
) -> ChainReport:
    """Walk the whole chain from the first row; report the first row that does not fit.

    Rows stream from a server-side cursor in batches, so memory stays flat at any length. A
    long chain is split into runs of seq, each checked by a process of its own (`workers`,
    by default one per CPU) in one exported snapshot, and the runs are linked here end to
    start: the same checks, row for row, and the same report as one walk from the first row.
    Inside a caller's transaction one process walks it all (other connections could not
    see what that transaction wrote).
    """
    workers = workers or os.cpu_count() or 1
    may_split = workers > 1 and not connection.in_atomic_block
    with transaction.atomic():
        if may_split:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute(
                    "SELECT min(seq), max(seq), pg_export_snapshot() FROM portal_auditevent"
                )
                low, high, snapshot = cursor.fetchone()
                if low is not None and high - low + 1 >= parallel_min_rows:
                    return _report(_walk_in_parallel(snapshot, low, high, workers), cursor)
        with connection.chunked_cursor() as cursor:
            cursor.execute(_VERIFY_SQL)
            with contextlib.closing(_batches_ahead(cursor.cursor)) as batches:
                walk = _walk(batches, 1, GENESIS_HASH)
        with connection.cursor() as cursor:
            return _report(walk, cursor)
