"""Per claim: the chapter that measures it, and why it holds or does not, as data for the scorecard.

>>> NOTES["n_plus_one"].chapter
'02-n-plus-one'
>>> NOTES["n_plus_one"].why("below")[:30]
'In-process SQLite makes a roun'
>>> NOTES["n_plus_one"].why("below", "postgresql")[:30]
'A local PostgreSQL answers a r'
>>> NOTES["set_lookup"].database
False

The sentences say what decides the outcome (the mechanism), not a number: the number is this machine's.
Claims whose chapter never touches the database (``database=False``) have one row for any backend.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Note:
    """Where a claim is measured, the two explanations (when it holds, when it does not), and whether the
    database takes part; ``postgresql`` replaces the two sentences on PostgreSQL where they differ."""

    chapter: str
    held: str
    missed: str
    database: bool = True
    postgresql: tuple[str, str] | None = None

    def why(self, status: str, backend: str | None = None) -> str:
        """The explanation for a verdict ``status`` ("within", "above", "below") on ``backend``; "" when not
        measured."""
        held, missed = self.postgresql if backend == "postgresql" and self.postgresql else (self.held, self.missed)
        if status in {"within", "above"}:
            return held
        return missed if status == "below" else ""


def _n(chapter: str, held: str, missed: str, *, database: bool = True, pg_missed: str = "") -> Note:
    return Note(chapter, held, missed, database, (held, pg_missed) if pg_missed else None)


NOTES: dict[str, Note] = {
    "index": _n(
        "09-indexes",
        "Without the index the database reads every order to find a few; with it, it goes straight to them.",
        "The gain shrinks when the table is small or many rows match, and end-to-end timing includes Python "
        "work that no index speeds up."),
    "n_plus_one": _n(
        "02-n-plus-one",
        "Every extra query pays a round trip; one query instead of N+1 saves nearly all of them.",
        "In-process SQLite makes a round trip cost microseconds, so the saving is bounded by the injected "
        "latency and N; over a real network it grows.",
        pg_missed="A local PostgreSQL answers a round trip in tens of microseconds, so the saving is bounded by "
                  "the injected latency and N; over a real network it grows."),
    "caching": _n(
        "10-caching",
        "A hit skips the database entirely; with a high hit ratio a request costs about a dictionary lookup.",
        "The book's figure is per hit; over a realistic mix of requests the misses still go to the database, "
        "so the average gain is capped near 1 / (1 - hit ratio)."),
    "async": _n(
        "04-async-background",
        "Independent waits overlap: the total is about the longest wait per batch, not the sum of them all.",
        "Overlap only helps with waiting; the pool size, CPU work and the GIL cap the gain."),
    "compression": _n(
        "05-compression",
        "JSON repeats its field names and many values; gzip folds most of that repetition away.",
        "Small, varied or already compressed payloads shrink little: the ratio depends on the data.",
        database=False),
    "object_pooling": _n(
        "08-memory",
        "Reusing objects means fewer allocations, so the garbage collector has less to track and runs less.",
        "CPython frees most objects by reference counting the moment they are dropped; the cycle collector "
        "rarely sees short-lived buffers, so a pool has little collection work to save.",
        database=False),
    "batching": _n(
        "09-indexes",
        "One statement and one commit for many rows pays the fixed cost per statement and round trip once.",
        "When a round trip is cheap (in-process, no commit per row) there is little fixed cost per row to save.",
        pg_missed="Over a local socket a round trip is short, so one statement per row costs little more than one "
                  "for all of them; over a network the gap grows."),
    "async_parallel": _n(
        "04-async-background",
        "Three calls run together cost about the slowest one, exactly as the book computes.",
        "Scheduling and connections add a few milliseconds; with short calls that overhead is a visible share."),
    "gzip_json": _n(
        "05-compression",
        "Repetitive JSON shrinks to about a tenth of its size with gzip.",
        "The ratio depends on how repetitive the JSON is: varied names, prices and timestamps compress less "
        "than the book's example.",
        database=False),
    "find_duplicates": _n(
        "06-algorithms",
        "Comparing every pair costs n² steps and a set costs n: at 1,500 items that is hundreds of times.",
        "The ratio grows with n; a short list, or duplicates found early, narrows it.",
        database=False),
    "set_lookup": _n(
        "06-algorithms",
        "A set finds an item by its hash in one step; a list compares on average half of its items.",
        "A list scan runs its comparisons in C, so the ratio tracks the list's length (about a thousand for "
        "10,000 items), not a fixed 5000x.",
        database=False),
    "loop_cached_len": _n(
        "06-algorithms",
        "A loop that calls len() on every pass pays for each call; hoisting it saves them.",
        "range(len(x)) calls len() once, before the loop starts: there is nothing to hoist, both loops are "
        "equally fast.",
        database=False),
    "list_comprehension": _n(
        "06-algorithms",
        "A comprehension has no index to look up and no .append to find and call for each item.",
        "Recent CPython versions made loops and method calls cheaper, which narrows the comprehension's lead.",
        database=False),
    "numpy_vectorized": _n(
        "07-numpy-vectorization",
        "One C loop over a typed array replaces a million interpreted steps and a million boxed integers.",
        "Small arrays, or converting between lists and arrays inside the timing, eat the gain.",
        database=False),
    "fix_the_bottleneck": _n(
        "01-measure-first",
        "The profile pointed at the function that took most of the time; fixing it made the whole job faster.",
        "A fix aimed where the profile did not point barely moves the total.",
        database=False),
    "numpy_vs_comprehension": _n(
        "07-numpy-vectorization",
        "Even the fastest pure-Python loop handles one boxed integer per step; NumPy works on raw machine ints.",
        "Small arrays, or converting between lists and arrays inside the timing, eat the gain.",
        database=False),
    "bounded_cache": _n(
        "08-memory",
        "A cache that never evicts keeps every entry it ever saw; a size limit keeps at most that many.",
        "While the distinct keys stay below the limit, both caches hold the same entries.",
        database=False),
    "explain_index": _n(
        "09-indexes",
        "The plan goes from scanning every row to a few index look-ups on the two filtered columns.",
        "A full scan of a table this size takes milliseconds, not the book's 450 ms; a smaller table gives a "
        "smaller ratio, though the index still wins by tens of times."),
    "batch_insert": _n(
        "09-indexes",
        "executemany in one transaction pays for one statement and one commit instead of one per row.",
        "When each separate insert is cheap (in-process, one transaction) there is less to save per row.",
        pg_missed="Over a local socket each separate insert is a short round trip inside one transaction: less "
                  "fixed cost per row to save than the book's networked database paid."),
    "query_cache": _n(
        "10-caching",
        "The second call returns a stored result instead of parsing, planning and running the query again.",
        "When the query itself is fast (in-process, indexed), a cache can only save a little.",
        pg_missed="When the query itself is fast (a small indexed table PostgreSQL keeps in memory), a cache can "
                  "only save a little."),
    "cache_l1": _n(
        "10-caching",
        "A dictionary lookup in the same process costs well under a microsecond; the database costs a "
        "millisecond or more.",
        "When the database answers from memory in-process, even an L1 hit saves less than the book's 500x.",
        pg_missed="When PostgreSQL answers from memory over a local socket, even an L1 hit saves less than the "
                  "book's 500x."),
    "cache_l2": _n(
        "10-caching",
        "A shared cache answers without running the query: slower than L1, still far faster than the database.",
        "An L2 hit pays a round trip of its own; when the database is in-process and fast, the gap narrows.",
        pg_missed="An L2 hit pays a round trip of its own, much like a local PostgreSQL's, so the gap narrows."),
    "case_study": _n(
        "11-case-study",
        "Fixing the N+1, caching and running the independent calls together each remove a different share "
        "of the time, so they compound.",
        "The fixes compound only when each removes a large share; with little latency per query the N+1 fix "
        "saves less."),
    "lazy_saves_memory": _n(
        "03-lazy-vs-eager",
        "Related rows that are never read are never loaded, so they take no memory.",
        "When every related row is read, lazy loading loads them all anyway, plus one query per parent: "
        "chapter 03 holds a verdict on that case too, just before the claim's own, and there eager needs less."),
    "lazy_initial_load": _n(
        "03-lazy-vs-eager",
        "Loading only the parents reads far fewer rows than loading them with all of their children.",
        "When the parents have few children, loading them up front costs little more."),
    "eager_single_query": _n(
        "03-lazy-vs-eager",
        "One statement replaces the 1 + N that lazy loading sends.",
        "The chapter's eager page sends two statements (the users, then their orders by IN), so it is "
        "1001 / 2 ≈ 500x fewer, not 1001x; only a JOIN sends one."),
}
