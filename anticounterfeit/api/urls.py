from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from anticounterfeit.compliance.api_views import StatementListView

from . import views

urlpatterns = [
    path("listings", views.ListingCreateView.as_view(), name="api-listings"),
    path("listings/batch", views.ListingBatchView.as_view(), name="api-listings-batch"),
    path("listings/<str:listing_id>", views.ListingDetailView.as_view(), name="api-listing-detail"),
    path("sellers/<str:seller_id>/sales", views.SellerSalesView.as_view(), name="api-seller-sales"),
    path("statements", StatementListView.as_view(), name="api-statements"),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
]
