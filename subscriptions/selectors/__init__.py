"""Reads shaped for the customer's pages, one module per subject; each
function runs a fixed number of queries whatever the customer's data."""

from subscriptions.selectors.autorenew import *  # noqa: F403
from subscriptions.selectors.cancellations import *  # noqa: F403
from subscriptions.selectors.lines import *  # noqa: F403
from subscriptions.selectors.orders import *  # noqa: F403
from subscriptions.selectors.replacements import *  # noqa: F403
