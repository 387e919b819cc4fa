# Equity snapshots say why they were taken (fill / schedule / daily) and are unique per account and
# instant (the unique index replaces the plain one on the same columns).

from django.db import migrations, models

# Rows stored before this migration were the daily snapshots; a duplicate instant (only possible by
# calling take_equity_snapshot twice with the same time) keeps its newest row.
DROP_DUPLICATE_INSTANTS = """
DELETE FROM portfolio_equitysnapshot AS older
USING portfolio_equitysnapshot AS newer
WHERE older.account_id = newer.account_id AND older.taken_at = newer.taken_at AND older.id < newer.id
"""


class Migration(migrations.Migration):

    dependencies = [
        ("portfolio", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="equitysnapshot",
            name="reason",
            field=models.CharField(
                choices=[("fill", "After a fill"), ("schedule", "Intraday schedule"), ("daily", "Start of day")],
                default="daily",
                max_length=8,
            ),
            preserve_default=False,
        ),
        migrations.RunSQL(DROP_DUPLICATE_INSTANTS, migrations.RunSQL.noop),
        migrations.RemoveIndex(
            model_name="equitysnapshot",
            name="portfolio_e_account_6406c8_idx",
        ),
        migrations.AddConstraint(
            model_name="equitysnapshot",
            constraint=models.UniqueConstraint(
                fields=("account", "taken_at"), name="equity_snapshot_once_per_instant"
            ),
        ),
    ]
