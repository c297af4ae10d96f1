"""Simplified Chinese formats, where ours differ from Django's: sums grouped
by thousands with commas (2,199.00 克朗), as prices are written in China;
Django's own leave them ungrouped."""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
