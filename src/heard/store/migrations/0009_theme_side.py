# A theme of one side's answers keeps its side, so a codebook taken from it keeps it too.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('heard', '0008_review_integrity'),
    ]

    operations = [
        migrations.AddField(
            model_name='theme',
            name='side',
            field=models.SmallIntegerField(choices=[(1, 'Supporters'), (-1, 'Opponents'), (0, 'No side')], default=0, help_text="A theme of one side's answers: +1 supporters, -1 opponents, 0 none."),
        ),
    ]
