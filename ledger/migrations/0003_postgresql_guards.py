"""PostgreSQL guards of the books, in the database itself.

- A DEFERRABLE INITIALLY DEFERRED constraint trigger checks at commit that every transaction that
  received postings has at least two, that they sum to zero, and that each posting's denormalised
  booking_date equals its transaction's.
- Row triggers refuse UPDATE and DELETE on transactions and postings (corrections are reversing
  transactions). There is deliberately no TRUNCATE trigger: test teardown truncates the tables.

SQLite gets no triggers; there the service ``ledger.services.transaction_post`` is the guard.
"""

from django.db import migrations

FORWARD_STATEMENTS = [
    """
    CREATE OR REPLACE FUNCTION ledger_check_transaction_balanced() RETURNS trigger AS $$
    DECLARE
        txn_id bigint;
        posting_count integer;
        total numeric;
        mismatched integer;
    BEGIN
        IF TG_TABLE_NAME = 'ledger_transaction' THEN
            txn_id := NEW.id;
        ELSE
            txn_id := NEW.transaction_id;
        END IF;
        SELECT count(*), coalesce(sum(p.amount), 0) INTO posting_count, total
          FROM ledger_posting p WHERE p.transaction_id = txn_id;
        IF posting_count < 2 THEN
            RAISE EXCEPTION 'ledger: transaction % has % posting(s); a transaction needs at least two',
                txn_id, posting_count USING ERRCODE = 'check_violation';
        END IF;
        IF total <> 0 THEN
            RAISE EXCEPTION 'ledger: the postings of transaction % sum to % instead of zero', txn_id, total
                USING ERRCODE = 'check_violation';
        END IF;
        SELECT count(*) INTO mismatched
          FROM ledger_posting p JOIN ledger_transaction t ON t.id = p.transaction_id
         WHERE p.transaction_id = txn_id AND p.booking_date <> t.booking_date;
        IF mismatched > 0 THEN
            RAISE EXCEPTION 'ledger: % posting(s) of transaction % carry another booking date than the transaction',
                mismatched, txn_id USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE CONSTRAINT TRIGGER ledger_posting_balanced
        AFTER INSERT ON ledger_posting
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION ledger_check_transaction_balanced()
    """,
    """
    CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
        AFTER INSERT ON ledger_transaction
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION ledger_check_transaction_balanced()
    """,
    """
    CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'ledger: % on % refused; the books are never edited or deleted, post a reversing transaction',
            TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER ledger_transaction_immutable
        BEFORE UPDATE OR DELETE ON ledger_transaction
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()
    """,
    """
    CREATE TRIGGER ledger_posting_immutable
        BEFORE UPDATE OR DELETE ON ledger_posting
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()
    """,
]

REVERSE_STATEMENTS = [
    "DROP TRIGGER IF EXISTS ledger_posting_immutable ON ledger_posting",
    "DROP TRIGGER IF EXISTS ledger_transaction_immutable ON ledger_transaction",
    "DROP FUNCTION IF EXISTS ledger_refuse_change()",
    "DROP TRIGGER IF EXISTS ledger_transaction_balanced ON ledger_transaction",
    "DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting",
    "DROP FUNCTION IF EXISTS ledger_check_transaction_balanced()",
]


def _run(statements, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)  # no params: the % in the PL/pgSQL messages stay literal


def install_guards(apps, schema_editor):
    _run(FORWARD_STATEMENTS, schema_editor)


def remove_guards(apps, schema_editor):
    _run(REVERSE_STATEMENTS, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_default_chart")]

    operations = [migrations.RunPython(install_guards, remove_guards)]
