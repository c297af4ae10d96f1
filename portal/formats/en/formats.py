"""English formats, where ours differ from Django's: times end in "AM"/"PM",
not "a.m."/"p.m.", so a sentence that ends with a moment gets one full stop,
not two."""

TIME_FORMAT = "g:i A"  # 5:45 PM
DATETIME_FORMAT = "N j, Y, g:i A"  # Nov. 22, 2026, 5:45 PM
SHORT_DATETIME_FORMAT = "m/d/Y g:i A"  # 11/22/2026 5:45 PM
