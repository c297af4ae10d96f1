"""Reading a text to the service number: the command words in three
languages, any case, full-width or half-width."""

from __future__ import annotations

import pytest

from subscriptions.sms_commands import Command, command_parse


@pytest.mark.parametrize(
    ("text", "command", "language"),
    [
        ("BALANCE", Command.BALANCE, "en"),
        ("balance", Command.BALANCE, "en"),
        ("ＢＡＬＡＮＣＥ", Command.BALANCE, "en"),
        ("Saldo.", Command.BALANCE, "nb"),
        ("余额", Command.BALANCE, "zh-hans"),
        ("  余额？", Command.BALANCE, "zh-hans"),
        ("餘額", Command.BALANCE, "zh-hans"),
        ("status", Command.STATUS, None),
        ("ｓｔａｔｕｓ", Command.STATUS, None),
        ("状态", Command.STATUS, "zh-hans"),
        ("Help", Command.HELP, "en"),
        ("HJELP", Command.HELP, "nb"),
        ("帮助", Command.HELP, "zh-hans"),
        ("STOP", Command.STOP, "en"),
        ("Stopp", Command.STOP, "nb"),
        ("停止", Command.STOP, "zh-hans"),
        ("start", Command.START, "en"),
    ],
)
def test_each_command_word_is_read_in_any_case_and_width(text, command, language):
    parsed = command_parse(text)

    assert (parsed.command, parsed.language, parsed.known) == (command, language, True)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("TOPUP 1234 5678 9012 3456", "1234 5678 9012 3456"),
        ("påfyll 1234567890123456", "1234567890123456"),
        ("PÅFYLL 1234567890123456", "1234567890123456"),
        ("充值１２３４５６７８９０１２３４５６", "1234567890123456"),
        ("充值\u30001234567890123456", "1234567890123456"),
        ("Top-up 1234-5678", "1234-5678"),
    ],
)
def test_a_topup_takes_the_voucher_code_after_the_word(text, code):
    parsed = command_parse(text)

    assert parsed.command == Command.TOPUP
    assert parsed.argument == code


@pytest.mark.parametrize("text", ["", "hello", "balanced", "what is my 余额", "STOPPING"])
def test_a_text_that_is_no_command_is_unknown(text):
    parsed = command_parse(text)

    assert parsed.known is False
    assert parsed.command == Command.HELP


def test_words_after_a_command_that_takes_none_are_ignored():
    assert command_parse("balance please").argument == ""
