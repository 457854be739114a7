"""Marketplace API: submit listings (one or a batch), read their scan status, report sellers' clean sales.

Every marketplace client is a tenant: listing and seller ids in paths and bodies are looked up inside the
caller's tenant only (restricted querysets, ``visible_to``), so another client's colliding id is never found.
"""
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from anticounterfeit.accounts.models import Role, role_of
from anticounterfeit.listings.models import Listing, Seller
from anticounterfeit.trust import actions as trust_actions

from .intake import DuplicateListing, IntakeRejected, accept_validated
from .serializers import (
    BatchResultSerializer,
    CleanSalesReportSerializer,
    CleanSalesSerializer,
    ListingBatchSerializer,
    ListingIntakeSerializer,
    ListingStatusSerializer,
)


def client_of(request):
    if role_of(request.user) != Role.API_CLIENT or not hasattr(request.user, "marketplace_client"):
        raise PermissionDenied("only marketplace API clients can use this endpoint")
    return request.user.marketplace_client


class ListingCreateView(APIView):
    @extend_schema(request=ListingIntakeSerializer, responses={201: ListingStatusSerializer, 400: dict, 409: dict},
                   description="Listing and seller ids are this client's own (unique per client). A listing id this "
                               "client already sent answers 409 and changes nothing.")
    def post(self, request):
        client = client_of(request)
        serializer = ListingIntakeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            listing = accept_validated(serializer.validated_data, client=client, acting_user=request.user)
        except DuplicateListing as exc:
            return Response(exc.errors, status=status.HTTP_409_CONFLICT)
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
    @extend_schema(
        parameters=[OpenApiParameter("client", str, OpenApiParameter.QUERY, required=False,
                                     description="Staff only: the marketplace client (tenant) whose listing id this is.")],
        responses={200: ListingStatusSerializer, 404: dict, 409: dict},
        description="An API client reads its own listings only. Listing ids are unique per client, so staff name "
                    "the client when several clients sent the same id (otherwise 409 lists them).")
    def get(self, request, listing_id: str):
        """The scan status for the marketplace (and staff, brand owners): never for sellers, who must not learn
        of an investigation before its decision (their seller center shows decisions only)."""
        if role_of(request.user) == Role.SELLER:
            raise PermissionDenied("sellers read their listings' decisions in the seller center")
        listings = Listing.objects.visible_to(request.user).filter(listing_key=listing_id).select_related("client")
        if request.query_params.get("client"):
            listings = listings.filter(client__name=request.query_params["client"])
        found = list(listings[:MAX_AMBIGUOUS])
        if not found:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        if len(found) > 1:
            return Response({"detail": f"listing id '{listing_id[:64]}' was sent by several marketplace clients; "
                                       "pass ?client=<name>", "clients": sorted(x.client.name for x in found)},
                            status=status.HTTP_409_CONFLICT)
        return Response(ListingStatusSerializer(found[0]).data)


MAX_AMBIGUOUS = 20


class SellerSalesView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("seller_id", str, OpenApiParameter.PATH, description="The seller's id, as sent "
                                     "with its listings.", examples=[OpenApiExample("seller", value="S-1001")])],
        examples=[OpenApiExample("monthly report", request_only=True,
                                 value={"report_id": "sales-2026-10-S-1001", "count": 120, "period_end": "2026-10-31"})],
        request=CleanSalesSerializer,
        responses={201: CleanSalesReportSerializer, 200: CleanSalesReportSerializer, 400: dict, 404: dict, 409: dict},
        description="Report a seller's completed sales without complaints; they raise the seller's trust rating. "
                    "Only sellers this client registered can be reported (others, including another client's seller with the same id: 404). Idempotent by "
                    "report_id: the same report again answers 200 with the stored report; the same report_id with "
                    "different content answers 409.")
    def post(self, request, seller_id: str):
        client = client_of(request)
        seller = Seller.objects.visible_to(request.user).of_tenant(client).filter(seller_key=seller_id).first()
        if seller is None:
            return Response({"detail": f"seller '{seller_id[:64]}' not found among this client's sellers"},
                            status=status.HTTP_404_NOT_FOUND)
        serializer = CleanSalesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            report, created = trust_actions.record_sales_report(
                client, seller, report_key=data["report_id"], count=data["count"], period_end=data["period_end"],
                acting_user=request.user)
        except trust_actions.SalesReportConflict as exc:
            return Response({"report_id": [str(exc)]}, status=status.HTTP_409_CONFLICT)
        return Response(CleanSalesReportSerializer(report).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
