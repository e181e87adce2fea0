from django.urls import path

from manifattura.calls import views_evaluation as views

app_name = "calls_eval"
# Mounted under /calls/ next to calls.urls; every path here has a fixed part after the call's code, so
# neither set shadows the other.
urlpatterns = [
    # The applicant
    path("applications/<int:pk>/outcome/", views.outcome, name="outcome"),
    path("applications/<int:pk>/outcome/integration/<int:request_id>/upload/", views.outcome_integration_upload,
         name="outcome-integration-upload"),
    path("applications/<int:pk>/outcome/integration/<int:request_id>/answer/", views.outcome_integration_answer,
         name="outcome-integration-answer"),
    path("applications/<int:pk>/outcome/appeal/", views.outcome_appeal, name="outcome-appeal"),
    path("applications/<int:pk>/outcome/preferences/", views.outcome_preferences, name="outcome-preferences"),
    path("applications/<int:pk>/outcome/awards/<int:award_id>/accept/", views.outcome_award_accept,
         name="outcome-award-accept"),
    path("applications/<int:pk>/outcome/awards/<int:award_id>/renounce/", views.outcome_award_renounce,
         name="outcome-award-renounce"),
    # Private files
    path("files/review/<int:pk>/", views.review_file, name="review-file"),
    path("files/integration/<int:pk>/", views.integration_document, name="integration-document"),
    path("files/appeal/<int:pk>/", views.appeal_file, name="appeal-file"),
    # Staff
    path("<slug:code>/evaluation/", views.dashboard, name="dashboard"),
    path("<slug:code>/evaluation/commission/", views.commission_appoint, name="commission-appoint"),
    path("<slug:code>/evaluation/integrations-expire/", views.integrations_expire, name="integrations-expire"),
    path("<slug:code>/evaluation/review-open/", views.review_open, name="review-open"),
    path("<slug:code>/evaluation/assign/", views.reviews_assign, name="reviews-assign"),
    path("<slug:code>/evaluation/final-scores/", views.final_scores_compute, name="final-scores-compute"),
    path("<slug:code>/evaluation/draw-seed/", views.draw_seed, name="draw-seed"),
    path("<slug:code>/evaluation/publish/<str:kind>/", views.ranking_publish, name="ranking-publish"),
    path("<slug:code>/evaluation/verify/", views.ranking_verify, name="ranking-verify"),
    path("<slug:code>/evaluation/allocation/", views.allocation_run, name="allocation-run"),
    path("<slug:code>/evaluation/awards-expire/", views.awards_expire, name="awards-expire"),
    path("<slug:code>/evaluation/conclude/", views.conclude, name="conclude"),
    path("<slug:code>/evaluation/applications/<int:pk>/", views.staff_application, name="application"),
    path("<slug:code>/evaluation/applications/<int:pk>/admissibility/", views.admissibility_decide,
         name="admissibility"),
    path("<slug:code>/evaluation/applications/<int:pk>/integration/", views.integration_request,
         name="integration-request"),
    path("<slug:code>/evaluation/applications/<int:pk>/assignment/", views.assignment_set, name="assignment"),
    path("<slug:code>/evaluation/applications/<int:pk>/final-scores/", views.final_scores_set,
         name="final-scores-set"),
    path("<slug:code>/appeals/<int:pk>/", views.appeal_decide, name="appeal-decide"),
    # The commission
    path("<slug:code>/review/", views.review_home, name="review"),
    path("<slug:code>/review/progress/", views.review_progress, name="review-progress"),
    path("<slug:code>/review/<int:pk>/", views.review_application, name="review-application"),
    path("<slug:code>/review/<int:pk>/conflict/", views.review_conflict, name="review-conflict"),
    path("<slug:code>/review/<int:pk>/scores/", views.review_scores, name="review-scores"),
    # Public rankings
    path("<slug:code>/ranking/", views.ranking_page, name="ranking"),
    path("<slug:code>/ranking/<str:kind>.csv", views.ranking_csv, name="ranking-csv"),
    path("<slug:code>/ranking/<str:kind>.pdf", views.ranking_pdf_download, name="ranking-pdf"),
]
