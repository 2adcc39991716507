"""Google Groups: a post to a group that was refused.

The notice comes in the poster's language, so words cannot tell the reason; its shape can. The
standard refusal ("the group may not exist, or you may not have permission to post") lists four
bullet points; any other notice is left for the text to decide.
"""

from __future__ import annotations

import re

from bot.core.diagnose.decode import Document
from bot.core.diagnose.fact import Fact
from bot.core.diagnose.readers.bounce import Block
from bot.core.diagnose.readers.mta import MtaReader

_BULLET = re.compile(r"^[ ]?\*[ ]?", re.MULTILINE)
_STANDARD_BULLETS = 4


class GoogleGroupsReader(MtaReader):
    def fact(self, block: Block, document: Document) -> Fact:
        fact = super().fact(block, document)
        report = "\n".join(block.lines)
        if len(_BULLET.findall(report)) == _STANDARD_BULLETS:
            return fact.with_(reason="rejected")
        return fact
