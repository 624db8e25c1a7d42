# Review counts that follow the themes: an analyst's coding retired when a run replaces the
# themes it was made against, and the responses each analyst skipped in blind review.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('heard', '0007_review'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='retired_by',
            field=models.ForeignKey(blank=True, help_text="For an analyst's coding of a response: the event that retired it when a run replaced the themes it was made against (it no longer counts).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='retired', to='heard.auditevent'),
        ),
        migrations.CreateModel(
            name='ReviewSkip',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('skipped_at', models.DateTimeField()),
                ('response', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='heard.response')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('user', 'response'), name='review_skip_unique')],
            },
        ),
    ]
