"""Load: 50 people asking at once, through the bot's real command callback and discord.py's own objects.

The harness is tests/test_bot_discord.py's: interactions and messages enter as raw gateway payloads and
every request leaves through discord.py's lowest HTTP layer, where the fake records it; what went out
there is what the checks read. The answers are the real `Answerer` on the seed index, run in the bot's
worker threads.

Event-loop blocking is measured as loop lag: a timer callback rescheduled every 10 ms records how late the
loop ran it, which is what a gateway heartbeat or an interaction arriving then would have waited. Not
with asyncio's debug mode: it captures a stack for every future and handle it creates (`extract_stack`,
which runs `linecache.checkcache`, a stat per cached source file), and under load that stalled the loop
itself, in asyncio's own debug code, for 109 to 131 ms.

Loop lag is wall-clock time, so other jobs on the machine add to it: with two other processes keeping both
cores busy, 5 of 30 runs had one tick over 100 ms late; the loop thread, sampled then, was idle in `poll`,
in a few lines of plain Python or starting a worker thread, waiting for a core or the GIL. So the
lag bound must hold in one of `ATTEMPTS` runs, each a fresh bot and the whole load, and every other check
must hold in every run: a bot that holds its loop does so every time, while contention from outside
rarely hits three runs in a row.
"""

from __future__ import annotations

import asyncio
import faulthandler
import functools
import random
import string
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import pytest
import snowballstemmer

from qabot import bot as qabot_bot
from qabot.config import Settings
from qabot.discord_render import sanitize
from qabot.words import stem
from tests.test_bot_discord import (
    BOT_ID,
    DEFERRED,
    EPHEMERAL,
    MESSAGE,
    FakeDiscord,
    Harness,
    Sent,
    assert_safe,
    drive,
)

ASKERS = 50
FIRST_USER = 200000000000000000
MAX_CONCURRENCY = 2  # the default, the design machine's two cores
COOLDOWN = 60.0  # long enough that no asker's cooldown can lapse during the test, however slow the machine
MAX_BLOCK = 0.1  # seconds the loop may be held at once
TICK = 0.01  # the lag meter's period
DISCORD_DEADLINE = 3.0  # seconds Discord gives an interaction for its first response
ATTEMPTS = 3  # runs in which the lag bound may be met (see above)
STREAM_GAP = 0.005  # seconds between the asks of the third wave: 50 in a quarter of a second
QUESTIONS = (
    "Where is the 102nd Russian military base located?",
    "How many Russian troops does Armenia host?",
    "Who is the Russian ambassador to Armenia?",
    "What did Pashinyan say about the Russian troops?",
    "Why does Armenia want more Russian troops?",
)

P = ParamSpec("P")
T = TypeVar("T")


class LagMeter:
    """How late the loop runs a timer due every `period` seconds: a loop held for B seconds makes some
    tick at least B - period late. A timer, not a task, so the harness's `settle` does not wait for it.

    A watchdog thread notes where the threads are when a tick is `MAX_BLOCK` overdue (`threads_now`), so
    that a failure says what held the loop.
    """

    def __init__(self, period: float = TICK) -> None:
        self.period = period
        self.lags: list[float] = []
        self.stalls: list[str] = []  # where the loop was, each time a tick was MAX_BLOCK overdue
        self._due = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._last_tick = time.perf_counter()
        self._stopped = threading.Event()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._due = loop.time() + self.period
        self._handle = loop.call_at(self._due, self._tick)
        watchdog = threading.Thread(target=self._watch, daemon=True)
        watchdog.start()

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.lags.append(now - self._due)
        self._last_tick = time.perf_counter()
        self._due = now + self.period
        self._handle = loop.call_at(self._due, self._tick)

    def _watch(self) -> None:
        noted = False  # one note per stall
        while not self._stopped.wait(self.period):
            overdue = time.perf_counter() - self._last_tick - self.period
            if overdue >= MAX_BLOCK and not noted:
                self.stalls.append(f"{overdue * 1000:.0f} ms overdue, the threads at:\n{threads_now()}")
            noted = overdue >= MAX_BLOCK

    def stop(self) -> None:
        self._stopped.set()
        if self._handle is not None:
            self._handle.cancel()

    @property
    def worst(self) -> float:
        return max(self.lags, default=0.0)


def threads_now() -> str:
    """Every thread's stack, dumped by faulthandler in one C call, the GIL held throughout: walking the
    loop thread's frames from Python (`sys._current_frames()`, then `traceback.format_stack`) let that
    thread run between two frames, and CPython 3.11 crashed there (a segmentation fault under load)."""
    with tempfile.TemporaryFile("w+") as out:
        faulthandler.dump_traceback(out, all_threads=True)
        out.seek(0)
        return out.read()


@dataclass
class InFlight:
    """Counts the calls of a function that are running at once, across threads (a spy: it calls the real
    function, so the answers are the answerer's own)."""

    calls: int = 0
    running: int = 0
    peak: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, function: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(function)
        def counted(*args: P.args, **kwargs: P.kwargs) -> T:
            with self._lock:
                self.calls += 1
                self.running += 1
                self.peak = max(self.peak, self.running)
            try:
                return function(*args, **kwargs)
            finally:
                with self._lock:
                    self.running -= 1

        return counted


@dataclass(frozen=True)
class Ask:
    event: int  # the interaction's id, or the message's
    user: int
    question: str
    at: float  # time.perf_counter() when the gateway delivered it


@dataclass
class Run:
    """What a load scenario saw, for the checks after the bot has closed."""

    meter: LagMeter = field(default_factory=LagMeter)
    answering: InFlight = field(default_factory=InFlight)
    waves: list[list[Ask]] = field(default_factory=list)


def slash(h: Harness, user: int, question: str) -> int:
    return h.command("ask", user=user, question=question)


def mention(h: Harness, user: int, question: str) -> int:
    return h.post(f"<@{BOT_ID}> {question}", user=user, mention_bot=True)


def slash_replies(fake: FakeDiscord, ask: Ask) -> list[Sent]:
    return fake.for_interaction(ask.event)


def mention_replies(fake: FakeDiscord, ask: Ask) -> list[Sent]:
    """The bot's messages that reply to the asking message (an answer's further messages, if it needs
    more than one, carry no reference; the seed index's answers fit in one)."""
    posted = fake.channel_messages()
    return [s for s in posted if (s.json.get("message_reference") or {}).get("message_id") == ask.event]


def slash_outcome(fake: FakeDiscord, ask: Ask) -> str:
    """What an /ask got: "answered" (a public defer, then the answer as public follow-ups), "busy" or
    "cooldown" (one private message), else a description of what went wrong."""
    sent = slash_replies(fake, ask)
    if sent and sent[0].callback_type == DEFERRED and sent[0].flags == 0 and len(sent) >= 2:
        public = all(s.callback_type is None and s.flags & EPHEMERAL == 0 for s in sent[1:])
        if public and titled(sent[1], ask):
            return "answered"
    if len(sent) == 1 and sent[0].callback_type == MESSAGE and sent[0].flags == EPHEMERAL:
        return refusal(sent[0])
    return unexpected(sent)


def mention_outcome(fake: FakeDiscord, ask: Ask) -> str:
    """What a mention got: "answered" (one reply holding the answer), "busy" or "cooldown" (one short
    reply), else a description of what went wrong."""
    sent = mention_replies(fake, ask)
    if len(sent) == 1 and sent[0].message.get("embeds") and titled(sent[0], ask):
        return "answered"
    return refusal(sent[0]) if len(sent) == 1 else unexpected(sent)


def titled(sent: Sent, ask: Ask) -> bool:
    assert_safe(sent)
    return bool(sent.message["embeds"][0]["title"] == sanitize(ask.question))


def refusal(sent: Sent) -> str:
    assert_safe(sent)
    text = sent.message.get("content") or ""
    if text == qabot_bot.BUSY:
        return "busy"
    return "cooldown" if text.startswith("Slow down: you can ask again in ") else unexpected([sent])


def unexpected(sent: list[Sent]) -> str:
    return f"unexpected {[(s.path, s.callback_type, s.flags, s.message.get('content')) for s in sent]}"


@dataclass(frozen=True)
class Way:
    """One way of asking the bot: how the question arrives, and how to read what it got back."""

    ask: Callable[[Harness, int, str], int]
    replies: Callable[[FakeDiscord, Ask], list[Sent]]
    outcome: Callable[[FakeDiscord, Ask], str]


WAYS = {
    "slash": Way(slash, slash_replies, slash_outcome),
    "mention": Way(mention, mention_replies, mention_outcome),
}


async def wave(h: Harness, run: Run, way: Way, first_user: int, gap: float = 0.0) -> None:
    """`ASKERS` users ask once each, `gap` seconds apart; each ask is its own gateway event, parsed in its
    own loop step as the websocket delivers them. With no gap, all arrive before any is answered. Then
    wait for every reply."""
    asks = []
    for n in range(ASKERS):
        user, question = first_user + n, QUESTIONS[n % len(QUESTIONS)]
        at = time.perf_counter()
        asks.append(Ask(way.ask(h, user, question), user, question, at))
        await asyncio.sleep(gap)
    run.waves.append(asks)
    await h.settle()


def load_scenario(run: Run, way: Way) -> Callable[[Harness], Any]:
    """50 users ask at once; the same 50 again at once (their cooldowns); 50 others over a quarter of a
    second (arrivals while answers are being computed, and slots freed and taken again)."""

    async def scenario(h: Harness) -> None:
        answerer = h.bot.service.answerer
        answerer.answer = run.answering.wrap(answerer.answer)  # type: ignore[method-assign]
        run.meter.start()  # from here, not from login: it is the asks that are measured
        try:
            await wave(h, run, way, FIRST_USER)
            await wave(h, run, way, FIRST_USER)
            await wave(h, run, way, FIRST_USER + ASKERS, gap=STREAM_GAP)
        finally:
            run.meter.stop()

    return scenario


@pytest.fixture
def load_settings(seed_settings: Settings) -> Settings:
    return seed_settings.model_copy(
        update={"discord_max_concurrency": MAX_CONCURRENCY, "discord_cooldown_seconds": COOLDOWN}
    )


@pytest.mark.parametrize("way", WAYS)
def test_fifty_asks_at_once_each_get_one_answer_or_busy_without_blocking_the_loop(
    load_settings: Settings, way: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/ask (or a mention) from 50 users at once, from the same 50 again, then from 50 others in turn."""
    runs: list[Run] = []
    while len(runs) < ATTEMPTS and not any(r.meter.worst < MAX_BLOCK for r in runs):
        run = Run()
        started = time.perf_counter()
        fake = drive(load_settings, load_scenario(run, WAYS[way]), monkeypatch, **limits(load_settings))
        print(f"\nload ({way}): {check_replies(run, WAYS[way], fake)}; {time.perf_counter() - started:.1f} s")
        runs.append(run)
    # The loop was never held for 100 ms (in one of the runs: see the module's docstring).
    best = min(runs, key=lambda r: r.meter.worst)
    assert len(best.meter.lags) > 0 and best.meter.worst < MAX_BLOCK, [r.meter.stalls for r in runs]


def check_replies(run: Run, how: Way, fake: FakeDiscord) -> str:
    """Check what one run sent; returns its numbers."""
    first, second, streamed = ({ask.user: how.outcome(fake, ask) for ask in asks} for asks in run.waves)
    delays = [how.replies(fake, ask)[0].at - ask.at for asks in run.waves for ask in asks]
    # Every ask got exactly one answer or one clear busy reply: nothing else, nothing twice.
    got, flowing = Counter(first.values()), Counter(streamed.values())
    for outcomes in (got, flowing):
        assert set(outcomes) <= {"answered", "busy"}, outcomes
        assert outcomes["answered"] >= MAX_CONCURRENCY, outcomes
    assert got["busy"] > 0, got  # both paths were taken
    # Work is bounded by the setting: never more answers computed at once, and one per answered ask.
    assert run.answering.peak <= MAX_CONCURRENCY
    answered = [o for o in (*first.values(), *second.values(), *streamed.values()) if o == "answered"]
    assert run.answering.calls == len(answered)
    # The cooldown is per user: only those answered in the first wave are told to slow down; those told
    # "busy" were never admitted, so they may ask again at once.
    for user, before in first.items():
        allowed = {"cooldown"} if before == "answered" else {"answered", "busy"}
        assert second[user] in allowed, (user, before, second[user])
    # Every ask had its first reply within Discord's deadline (for a mention, which has no deadline,
    # the first reply is the answer itself).
    assert max(delays) < DISCORD_DEADLINE
    return (
        f"{ASKERS} asks at once, max concurrency {MAX_CONCURRENCY}: first wave {dict(got)}, second wave "
        f"{dict(Counter(second.values()))}, {ASKERS} others {STREAM_GAP * 1000:.0f} ms apart "
        f"{dict(flowing)}; answers in flight at most {run.answering.peak}; loop lag max "
        f"{run.meter.worst * 1000:.1f} ms over {len(run.meter.lags)} ticks; first reply after at most "
        f"{max(delays) * 1000:.0f} ms"
    )


def limits(settings: Settings) -> dict[str, Any]:
    """`drive` turns the cooldown off unless it is given: keep the one in `settings`."""
    return {"discord_cooldown_seconds": settings.discord_cooldown_seconds}


class Together:
    """Makes the calls of a function start at the same moment, `parties` at a time (a spy around the
    real function), so that what they do runs in all their threads at once."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=10)

    def wrap(self, function: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(function)
        def together(*args: P.args, **kwargs: P.kwargs) -> T:
            self.barrier.wait()
            return function(*args, **kwargs)

        return together


def test_the_first_answers_after_start_can_run_at_once(
    load_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two /asks at once on a bot that has answered nothing yet both get their answer. (They raced to
    set up the index's lazily created FTS vocabulary table: one got "table sentence_vocab already
    exists" and the user "Sorry, something went wrong"; the bot now answers once before serving.)"""
    asks: list[tuple[int, str]] = []

    async def scenario(h: Harness) -> None:
        index = h.bot.service.answerer.index
        index.sentence_frequency = Together(2).wrap(index.sentence_frequency)  # type: ignore[method-assign]
        for n in range(2):  # the same question: both look up the same terms, as often
            asks.append((h.command("ask", user=FIRST_USER + n, question=QUESTIONS[0]), QUESTIONS[0]))
        await h.settle()

    for _ in range(5):  # a fresh bot each time (before the warm-up, this test failed 3 times out of 3)
        asks.clear()
        fake = drive(load_settings, scenario, monkeypatch, **limits(load_settings))
        for interaction, question in asks:
            ask = Ask(interaction, 0, question, 0.0)
            assert slash_outcome(fake, ask) == "answered", slash_outcome(fake, ask)


def test_stemming_in_many_threads_at_once_gives_each_word_its_own_stem() -> None:
    """Found by the load test ("IndexError: string index out of range" from a first answer): the shared
    stemmer mixed up the words of threads stemming at once, and the cache kept the wrong stems. Fresh
    made-up words, so that every call reaches the stemmer rather than the cache."""
    rng = random.Random(6)
    words = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 12))) + "ational" for _ in range(8000)
    ]
    reference = snowballstemmer.stemmer("porter")  # used by this thread only
    expected = {w: reference.stemWord(w) for w in words}
    start = threading.Barrier(4, timeout=10)
    got: dict[str, str] = {}
    errors: list[BaseException] = []

    def stem_part(part: list[str]) -> None:
        start.wait()
        for word in part:
            try:
                got[word] = stem(word)
            except Exception as exc:  # what the race raised
                errors.append(exc)

    threads = [threading.Thread(target=stem_part, args=(words[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {w for w in words if got[w] != expected[w]} == set()
