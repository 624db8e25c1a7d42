from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "heard.store"
    label = "heard"
    verbose_name = "Heard store"
    default_auto_field = "django.db.models.BigAutoField"
