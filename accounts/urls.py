from django.urls import path

from accounts import views

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/notifications/", views.notification_settings, name="notification_settings"),
    path("unsubscribe/<str:token>/", views.notification_unsubscribe, name="notification_unsubscribe"),
    path("language/", views.set_language, name="set_language"),
    path("identity/", views.identity_documents, name="identity_documents"),
    path("identity/<int:document_id>/", views.identity_document_detail, name="identity_document_detail"),
]
