"""Marketplace API: a client's statements of reasons, as the Transparency Database's statement objects."""
from datetime import date

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from anticounterfeit.api.views import client_of

from .actions import export_rows
from .models import StatementOfReasons

PAGE = 500


class StatementListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("since", str, description="decisions on or after this day (YYYY-MM-DD)"),
                    OpenApiParameter("after", int, description="the `next` cursor of the previous page")],
        responses={200: dict})
    def get(self, request):
        """The statements of reasons for this client's listings, oldest first, ``PAGE`` at a time; each object is
        exactly what ``export_statements`` writes and the Transparency Database accepts."""
        client = client_of(request)
        try:
            since = date.fromisoformat(request.query_params["since"]) if "since" in request.query_params else None
            after = int(request.query_params.get("after", 0))
        except ValueError as exc:
            raise ValidationError({"since": "YYYY-MM-DD", "after": "an integer"}) from exc
        rows = export_rows(since=since, queryset=StatementOfReasons.objects.filter(client=client, pk__gt=after))
        page = list(rows.order_by("pk")[:PAGE])
        return Response({
            "statements": [row.payload for row in page],
            "next": page[-1].pk if len(page) == PAGE else None,
        })
