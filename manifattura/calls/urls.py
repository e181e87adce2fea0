from django.urls import path

from manifattura.calls import views

app_name = "calls"
# Fixed paths first: a call's code is a slug and must not shadow them.
urlpatterns = [
    path("", views.call_list, name="call-list"),
    path("mine/", views.my_applications, name="my-applications"),
    path("applications/<int:pk>/", views.application_page, name="application"),
    path("applications/<int:pk>/sections/<int:section_id>/", views.section_save, name="section-save"),
    path("applications/<int:pk>/files/<int:question_id>/", views.file_upload, name="file-upload"),
    path("applications/<int:pk>/declarations/", views.declarations_save, name="declarations-save"),
    path("applications/<int:pk>/submit/", views.submit, name="submit"),
    path("applications/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("applications/<int:pk>/receipt/", views.receipt, name="receipt"),
    path("applications/<int:pk>/receipt.pdf", views.receipt_pdf_download, name="receipt-pdf"),
    path("files/<int:pk>/", views.file_download, name="file-download"),
    path("<slug:code>/", views.call_detail, name="call-detail"),
    path("<slug:code>/resources/", views.call_resources, name="call-resources"),
    path("<slug:code>/apply/", views.apply, name="apply"),
    path("<slug:code>/manage/", views.manage, name="manage"),
    path("<slug:code>/manage/export.csv", views.manage_export_csv, name="manage-export"),
    path("<slug:code>/manage/applications/<int:pk>/", views.manage_application, name="manage-application"),
    path("<slug:code>/manage/publish/", views.manage_publish, name="manage-publish"),
    path("<slug:code>/manage/extend/", views.manage_extend, name="manage-extend"),
    path("<slug:code>/manage/copy/", views.manage_copy, name="manage-copy"),
]
