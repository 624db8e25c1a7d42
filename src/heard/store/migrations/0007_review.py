# Version-locked edits of a response's coding, naming the last editor.
#
# SQLite adds these columns by rebuilding heard_response, which drops the triggers that keep
# the keyword-search index in step: they are made again afterwards.

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


_web = importlib.import_module("heard.store.migrations.0002_web")


class Migration(migrations.Migration):

    dependencies = [
        ('heard', '0006_leases'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='response',
            name='version',
            field=models.PositiveIntegerField(default=1, help_text='For optimistic locking.'),
        ),
        migrations.AddField(
            model_name='response',
            name='edited_by',
            field=models.ForeignKey(blank=True, help_text="Who last changed the response's coding.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='response',
            name='edited_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(_web.add_fts, migrations.RunPython.noop),
    ]
