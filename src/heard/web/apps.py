from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "heard.web"
    label = "heard_web"
    verbose_name = "Heard web app"
