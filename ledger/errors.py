"""The errors the ledger raises. Callers catch ``LedgerError`` for any refusal of the books."""


class LedgerError(Exception):
    """The ledger refused a request; the message says why in words finance staff understand."""


class UnbalancedTransaction(LedgerError):
    """The postings of a transaction do not sum to zero."""


class InvalidPosting(LedgerError):
    """A posting line is malformed: too few lines, a zero amount, more than two decimal places."""


class InactiveAccount(LedgerError):
    """A posting names an account or cost centre that is switched off."""


class UnknownAccount(LedgerError):
    """A posting names an account or cost centre code that does not exist."""


class ReversalRefused(LedgerError):
    """The transaction cannot be reversed (it is itself a reversal)."""


class MonthNotOver(LedgerError):
    """A month can only be closed once it has ended."""


class MonthClosed(LedgerError):
    """The booking date falls in a closed (published) month; automatic postings use ``first_open_day``."""


class ReopenRefused(LedgerError):
    """A month cannot be re-opened: it is not closed, or a later month is still closed."""


class ImmutableRecord(LedgerError):
    """Transactions and postings are never edited or deleted; corrections are reversing transactions."""
