import datetime
from decimal import Decimal

import factory

from ledger.models import Account, CostCentre, TaxSphere, Transaction
from ledger.services import PostingLine, transaction_post


class AccountFactory(factory.django.DjangoModelFactory):
    """A test account; income in the non-profit core unless a trait says otherwise."""

    class Meta:
        model = Account
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"test-account-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").capitalize())
    kind = Account.Kind.INCOME
    category = Account.Category.DONATIONS
    tax_sphere = TaxSphere.NON_PROFIT_CORE
    active = True

    class Params:
        expense = factory.Trait(kind=Account.Kind.EXPENSE, category=Account.Category.OTHER_SPENDING)
        asset = factory.Trait(kind=Account.Kind.ASSET, category=Account.Category.CASH, tax_sphere=None)


class CostCentreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CostCentre
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"GRANT-{n}")
    name = factory.LazyAttribute(lambda o: f"Grant {o.code}")
    kind = CostCentre.Kind.GRANT


class TransactionFactory(factory.Factory):
    """A two-line transaction posted through the service (the only way the books are written).

    ``amount`` is debited to ``debit_account`` and credited to ``credit_account``.
    """

    class Meta:
        model = Transaction

    booking_date = datetime.date(2025, 3, 14)
    description = factory.Sequence(lambda n: f"Test transaction {n}")
    idempotency_key = factory.Sequence(lambda n: f"test:{n}")
    source_reference = ""
    amount = Decimal("100.00")
    debit_account = "bank"
    credit_account = "income-donations"
    cost_centre = None

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise NotImplementedError("Transactions exist only once posted: use TransactionFactory.create().")

    @classmethod
    def _create(cls, model_class, *, amount, debit_account, credit_account, cost_centre, **kwargs):
        return transaction_post(
            lines=[
                PostingLine(debit_account, amount, cost_centre=cost_centre),
                PostingLine(credit_account, -amount, cost_centre=cost_centre),
            ],
            **kwargs,
        )
