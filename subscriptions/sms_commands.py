"""What a text to the service number asks for: the command words in the
three languages, read in any case and in full-width or half-width forms.

``command_parse`` normalises the text (NFKC, so "ＢＡＬＡＮＣＥ" is "BALANCE"
and the ideographic space a space; then casefolded), takes the command word
at its start and the rest as the argument (a TOPUP's voucher code). A text
that is no command is HELP's business, with ``known`` False."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Command(StrEnum):
    BALANCE = "balance"
    STATUS = "status"
    HELP = "help"
    TOPUP = "topup"
    STOP = "stop"
    START = "start"


# Each word and the language it is written in (for a number that is not a
# line of ours, which has no owner whose language to answer in). "STATUS"
# is English and Norwegian alike. Traditional characters are taken too.
WORDS: dict[str, tuple[Command, str | None]] = {
    "balance": (Command.BALANCE, "en"),
    "saldo": (Command.BALANCE, "nb"),
    "余额": (Command.BALANCE, "zh-hans"),
    "餘額": (Command.BALANCE, "zh-hans"),
    "status": (Command.STATUS, None),
    "状态": (Command.STATUS, "zh-hans"),
    "狀態": (Command.STATUS, "zh-hans"),
    "help": (Command.HELP, "en"),
    "hjelp": (Command.HELP, "nb"),
    "帮助": (Command.HELP, "zh-hans"),
    "幫助": (Command.HELP, "zh-hans"),
    "topup": (Command.TOPUP, "en"),
    "top-up": (Command.TOPUP, "en"),
    "påfyll": (Command.TOPUP, "nb"),
    "充值": (Command.TOPUP, "zh-hans"),
    "stop": (Command.STOP, "en"),
    "stopp": (Command.STOP, "nb"),
    "停止": (Command.STOP, "zh-hans"),
    "start": (Command.START, "en"),
    "开始": (Command.START, "zh-hans"),
    "開始": (Command.START, "zh-hans"),
}
# Longest first, so that "top-up" is not read as "top".
_BY_LENGTH = sorted(WORDS, key=len, reverse=True)
# Punctuation a phone or a hurried thumb adds around a command.
_TRIM = " \t\r\n.,;:!?。，！？、-"


@dataclass(frozen=True)
class ParsedCommand:
    command: Command
    argument: str = ""
    # The language the command word is written in, when it says.
    language: str | None = None
    # False for a text that is no command (answered with the help text).
    known: bool = True


def command_parse(text: str) -> ParsedCommand:
    normal = unicodedata.normalize("NFKC", text).casefold().strip(_TRIM)
    for word in _BY_LENGTH:
        if not normal.startswith(word):
            continue
        rest = normal[len(word) :]
        # A Latin word ends at a non-letter ("balance2" is no command); a
        # Chinese one may run straight into a voucher code ("充值1234…").
        if rest and word.isascii() and rest[0].isalpha():
            continue
        command, language = WORDS[word]
        argument = rest.strip(_TRIM)
        if argument and command != Command.TOPUP:
            # "BALANCE please" is still BALANCE; only TOPUP takes an argument.
            argument = ""
        return ParsedCommand(command=command, argument=argument, language=language)
    return ParsedCommand(command=Command.HELP, known=False)


def text_masked(text: str) -> str:
    """The text as it may be kept or shown: a voucher code not yet used is
    as good as money, so a TOPUP keeps only its code's last four characters."""
    parsed = command_parse(text)
    if parsed.command != Command.TOPUP or not parsed.argument:
        return text
    code = "".join(character for character in parsed.argument if character.isalnum())
    return f"TOPUP ****{code[-4:]}"
