"""Which visitors a report through the rollups leaves out as bots, by the user agent of
their first event, with every verdict remembered.

The verdicts are kept with a report's counts (:class:`~.counted.Kept`), with the bot
rules that made them (:func:`convsdk.privacy.bots.rules_id`). A later report of those
counts starts from them: when the user agents of the people it recounts are all known,
it never compiles crawlerdetect's patterns, tens of milliseconds of a report that
otherwise takes a few hundred. Counts made under other rules (crawlerdetect upgraded, or
gone) are not read: their people were left out by other verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice

from ..rules import crawler

__all__ = ["MAX_VERDICTS", "BotCheck"]

#: The most verdicts kept with a report's counts (its people's distinct user agents are
#: usually far fewer).
MAX_VERDICTS = 10_000


class BotCheck:
    """Whether a visitor is left out as a bot (never with ``include_bots``), by the user
    agent of its first event; the verdicts so far in :attr:`verdicts`."""

    __slots__ = ("include_bots", "verdicts")

    def __init__(self, include_bots: bool) -> None:
        self.include_bots = include_bots
        #: user agent -> whether it is a known bot's.
        self.verdicts: dict[str, bool] = {}

    def left_out(self, user_agent: object) -> bool:
        """Whether the visitor whose first event has ``user_agent`` is left out."""
        if self.include_bots or not isinstance(user_agent, str):
            return False
        verdict = self.verdicts.get(user_agent)
        if verdict is None:
            verdict = self.verdicts[user_agent] = crawler(user_agent)
        return verdict

    def learn(self, verdicts: Mapping[str, bool]) -> None:
        """Take ``verdicts`` made under the bot rules in use."""
        self.verdicts.update(verdicts)

    def kept(self) -> dict[str, bool]:
        """The verdicts to keep with the counts (at most :data:`MAX_VERDICTS`)."""
        return dict(islice(self.verdicts.items(), MAX_VERDICTS))
