"""Identity rules of the contract (section 3) in Python.

The loader applies them in compiled code (``native/rowfilter.c``); these
functions are the readable statement of the same rules, and the tests hold
the compiled filter to them (``tests/test_rowfilter.py``).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
FULL_WIDTH = "０１２３４５６７８９ｘＸ"
HALF_WIDTH = "0123456789xX"
WHITESPACE = " \t\r\n\u3000"


def check_char(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalise_id(value: str) -> str:
    """Trim, full-width to half-width, x to X, 15-digit legacy to 18."""
    text = value.strip(WHITESPACE).translate(str.maketrans(FULL_WIDTH, HALF_WIDTH)).upper()
    if len(text) == 15 and text.isdigit():
        first17 = text[:6] + "19" + text[6:]
        return first17 + check_char(first17)
    return text


def is_valid_id(normalised: str) -> bool:
    """GB 11643: 18 ASCII characters, 17 digits, the check character, a real date."""
    if len(normalised) != 18 or not normalised.isascii() or not normalised[:17].isdigit():
        return False
    if normalised[17] != check_char(normalised[:17]):
        return False
    try:
        date(int(normalised[6:10]), int(normalised[10:12]), int(normalised[12:14]))
    except ValueError:
        return False
    return True


def person_key(normalised: str, key: str) -> str:
    return hmac.new(key.encode("utf-8"), normalised.encode("utf-8"), hashlib.sha256).hexdigest()
