from django.urls import path

from . import backtest_views, qa_views, views

app_name = "moderation"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("next/", views.next_case, name="next"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("counters/", views.queue_counters, name="counters"),
    path("cases/<int:pk>/lease/", views.lease_status, name="lease"),
    path("cases/<int:pk>/consequences/", views.case_consequences, name="consequences"),
    path("cases/<int:pk>/claim/", views.claim, name="claim"),
    path("cases/<int:pk>/decide/", views.decide, name="decide"),
    path("cases/<int:pk>/bulk/", views.bulk, name="bulk"),
    path("appeals/", views.appeals, name="appeals"),
    path("appeals/<int:pk>/", views.appeal_detail, name="appeal"),
    path("appeals/<int:pk>/decide/", views.appeal_decide, name="appeal_decide"),
    path("settings/", views.policy_settings, name="settings"),
    path("settings/brand-threshold/", views.brand_threshold, name="brand_threshold"),
    path("noisy/", views.noisy, name="noisy"),
    path("noisy/<int:pk>/quarantine/", views.quarantine, name="quarantine"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("qa/", qa_views.qa_queue, name="qa"),
    path("qa/<int:pk>/", qa_views.qa_review, name="qa_review"),
    path("qa/disagreements/", qa_views.qa_disagreements, name="qa_disagreements"),
    path("cases/<int:pk>/golden/", qa_views.mark_golden, name="mark_golden"),
    path("shadow/", backtest_views.shadow, name="shadow"),
    path("backtests/", backtest_views.backtest_list, name="backtests"),
    path("backtests/<int:pk>/", backtest_views.backtest_detail, name="backtest"),
    path("backtests/<int:pk>/activate/", backtest_views.backtest_activate, name="backtest_activate"),
]
