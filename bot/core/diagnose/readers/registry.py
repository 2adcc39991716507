"""The readers of one input, most specific first (ties between equal scores go to the earlier).

Readers written in code are listed here; bounce readers described by data come from
config/readers/ (one MtaReader each, or the subclass registered in HOOKS under the same name).
"""

from __future__ import annotations

from functools import cache

from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.amazonses import AmazonSesReader
from bot.core.diagnose.readers.bounce import GenericBounceReader
from bot.core.diagnose.readers.ehlo import EhloReader
from bot.core.diagnose.readers.event_log import EventLogReader
from bot.core.diagnose.readers.exchange_config import ExchangeConfigReader
from bot.core.diagnose.readers.exchange_ndr import ExchangeNdrReader
from bot.core.diagnose.readers.freetext import FreeTextReader
from bot.core.diagnose.readers.googlegroups import GoogleGroupsReader
from bot.core.diagnose.readers.message_trace import MessageTraceReader
from bot.core.diagnose.readers.mta import HeaderTestIndex, HeaderTests, MtaReader, load_specs
from bot.core.diagnose.readers.mta_log import MtaLogReader
from bot.core.diagnose.readers.postfix_queue import PostfixQueueReader
from bot.core.diagnose.readers.protocol_log import ProtocolLogReader
from bot.core.diagnose.readers.queue import QueueReader
from bot.core.diagnose.readers.rfc3464 import Rfc3464Reader
from bot.core.diagnose.readers.sendmail import SendmailReader
from bot.core.diagnose.readers.tlsrpt import TlsRptReader
from bot.core.diagnose.readers.tracking_log import TrackingLogReader
from bot.core.diagnose.readers.webhooks import WebhookEventsReader

CODE_READERS: tuple[type[Reader], ...] = (
    TlsRptReader,
    ProtocolLogReader,
    AmazonSesReader,
    WebhookEventsReader,
    SendmailReader,
    Rfc3464Reader,
    ExchangeNdrReader,
    MessageTraceReader,
    QueueReader,
    TrackingLogReader,
    EventLogReader,
    ExchangeConfigReader,
    MtaLogReader,
    PostfixQueueReader,
    EhloReader,
    GenericBounceReader,
    FreeTextReader,
)
HOOKS: dict[str, type[MtaReader]] = {
    "googlegroups": GoogleGroupsReader,
}


def new_readers() -> list[Reader]:
    """Fresh instances of the readers written in code (they may keep state across the windows
    of one input), then the MTA readers, which keep none and are made once."""
    readers: list[Reader] = [cls() for cls in CODE_READERS]
    readers.extend(_mta_readers())
    return readers


@cache
def _mta_readers() -> tuple[MtaReader, ...]:
    tests = HeaderTests(HeaderTestIndex(load_specs()))
    return tuple(HOOKS.get(spec.name, MtaReader)(spec, tests) for spec in load_specs())
