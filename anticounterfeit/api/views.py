"""Marketplace API: submit listings (one or a batch) and read their scan status."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from anticounterfeit.accounts.models import Role, role_of
from anticounterfeit.listings.models import Listing

from .intake import IntakeRejected, accept_validated
from .serializers import (
    BatchResultSerializer,
    ListingBatchSerializer,
    ListingIntakeSerializer,
    ListingStatusSerializer,
)


def client_of(request):
    if role_of(request.user) != Role.API_CLIENT or not hasattr(request.user, "marketplace_client"):
        raise PermissionDenied("only marketplace API clients can submit listings")
    return request.user.marketplace_client


class ListingCreateView(APIView):
    @extend_schema(request=ListingIntakeSerializer, responses={201: ListingStatusSerializer, 400: dict})
    def post(self, request):
        client = client_of(request)
        serializer = ListingIntakeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            listing = accept_validated(serializer.validated_data, client=client, acting_user=request.user)
        except IntakeRejected as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        return Response(ListingStatusSerializer(listing).data, status=status.HTTP_201_CREATED)


class ListingBatchView(APIView):
    @extend_schema(request=ListingBatchSerializer, responses={207: BatchResultSerializer})
    def post(self, request):
        """Each listing is validated and accepted on its own: a bad item never rejects the rest."""
        client = client_of(request)
        batch = ListingBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        results = []
        for index, item in enumerate(batch.validated_data["listings"]):
            listing_id = item.get("listing_id") if isinstance(item.get("listing_id"), str) else None
            serializer = ListingIntakeSerializer(data=item)
            if not serializer.is_valid():
                results.append({"index": index, "listing_id": listing_id, "status": "rejected", "errors": serializer.errors})
                continue
            try:
                accept_validated(serializer.validated_data, client=client, acting_user=request.user)
            except IntakeRejected as exc:
                results.append({"index": index, "listing_id": listing_id, "status": "rejected", "errors": exc.errors})
                continue
            results.append({"index": index, "listing_id": listing_id, "status": "accepted"})
        return Response({"results": results}, status=207)


class ListingDetailView(APIView):
    @extend_schema(responses={200: ListingStatusSerializer})
    def get(self, request, listing_id: str):
        listing = get_object_or_404(Listing.objects.visible_to(request.user), listing_key=listing_id)
        return Response(ListingStatusSerializer(listing).data)
