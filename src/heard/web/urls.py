"""URLs of the analyst web app."""

from django.conf import settings
from django.urls import include, path

from heard.web.views import (
    accounts,
    consultations,
    exports,
    history,
    jobs,
    questions,
    responses,
    review,
    themes,
    uploads,
)

# Names follow heard.pipeline.names; <str:name> also opens a consultation named before the
# rule existed (e.g. with a space), rather than breaking every link to it.
app_patterns = [
    path("", consultations.home, name="home"),
    path("sign-in/", accounts.sign_in, name="sign-in"),
    path("sign-out/", accounts.sign_out, name="sign-out"),
    path("upload/", uploads.upload_new, name="upload-new"),
    path("c/<str:name>/", consultations.overview, name="overview"),
    path("c/<str:name>/details/", consultations.details, name="details"),
    path("c/<str:name>/start-from-themes/", consultations.start_from_themes,
         name="start-from-themes"),
    path("c/<str:name>/members/", consultations.members, name="members"),
    path("c/<str:name>/upload/", uploads.upload_more, name="upload"),
    path("c/<str:name>/analyse/", jobs.analyse, name="analyse"),
    path("c/<str:name>/jobs/<int:run_id>/", jobs.job, name="job"),
    path("c/<str:name>/jobs/<int:run_id>.json", jobs.job_json, name="job-json"),
    path("c/<str:name>/jobs/<int:run_id>/cancel/", jobs.cancel, name="job-cancel"),
    path("c/<str:name>/export/", exports.export, name="export"),
    path("c/<str:name>/report/", exports.report, name="report"),
    path("c/<str:name>/history/", history.history, name="history"),
    path("c/<str:name>/history/<int:event_id>/revert/", history.revert, name="revert"),
    path("c/<str:name>/q/<int:qid>/", questions.question, name="question"),
    path("c/<str:name>/q/<int:qid>/stage/", questions.stage, name="stage"),
    path("c/<str:name>/q/<int:qid>/agreement/", questions.agreement, name="agreement"),
    path("c/<str:name>/q/<int:qid>/blind-review/", review.blind_review, name="blind-review"),
    path("c/<str:name>/q/<int:qid>/remap/", jobs.remap, name="remap"),
    path("c/<str:name>/q/<int:qid>/themes/", themes.editor, name="themes"),
    path("c/<str:name>/q/<int:qid>/themes/add/", themes.add, name="theme-add"),
    path("c/<str:name>/q/<int:qid>/themes/merge/", themes.merge, name="theme-merge"),
    path("c/<str:name>/themes/<int:theme_id>/edit/", themes.edit, name="theme-edit"),
    path("c/<str:name>/themes/<int:theme_id>/move/", themes.move, name="theme-move"),
    path("c/<str:name>/themes/<int:theme_id>/delete/", themes.delete, name="theme-delete"),
    path("c/<str:name>/themes/<int:theme_id>/split/", themes.split, name="theme-split"),
    path("c/<str:name>/responses/<int:response_id>/", responses.reader, name="response"),
    path("c/<str:name>/responses/<int:response_id>/read/", responses.mark_read, name="read"),
    path("c/<str:name>/responses/<int:response_id>/flag/", responses.flag, name="flag"),
    path("c/<str:name>/responses/<int:response_id>/pages/<int:page>.png",
         responses.page_image, name="response-page"),
    path("c/<str:name>/responses/<int:response_id>/original/", responses.original,
         name="response-original"),
    path("c/<str:name>/respondents/<int:respondent_id>/", responses.respondent,
         name="respondent"),
]

urlpatterns = [path("", include((app_patterns, "heard"), namespace="heard"))]

if getattr(settings, "OIDC_ENABLED", False):
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))

handler500 = "heard.web.views.errors.server_error"
