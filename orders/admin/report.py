"""The manager's report in the admin: a range of the bar's days as charts and tables, and the
same numbers as CSV. Its own permission (orders.view_report) opens it; nothing is changed."""

from datetime import timedelta

from csp.constants import NONCE
from csp.decorators import csp_update
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.decorators import method_decorator

from orders.admin.rooms import OnePermissionAdmin
from orders.models import DayReport
from orders.reports import MAX_DAYS, day_range_parse, report_charts, report_compute, report_csv
from orders.reports.tables import report_tables
from orders.services.sold_out import sold_out_minutes

REPORT_PERMISSION = "orders.view_report"


@admin.register(DayReport)
class DayReportAdmin(OnePermissionAdmin):
    permission = REPORT_PERMISSION

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("", view(self.report_view), name="orders_dayreport_changelist"),
            path("csv/", view(self.csv_view), name="orders_dayreport_csv"),
        ]

    def _days(self, request: HttpRequest):
        if not request.user.has_perm(REPORT_PERMISSION):
            raise PermissionDenied("The manager's report needs its own permission")
        return day_range_parse(
            first=request.GET.get("first") or None,
            last=request.GET.get("last") or None,
            today=timezone.localdate(),
        )

    @staticmethod
    def _report(days):
        # The minutes each item was sold out (orders.services.sold_out) are the report's too.
        return report_compute(days=days, items_off=sold_out_minutes)

    # The charts' <style> elements carry this response's nonce: nothing else inline is allowed.
    @method_decorator(csp_update({"style-src": [NONCE]}))
    def report_view(self, request: HttpRequest) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Manager's report",
            "is_nav_sidebar_enabled": False,
            "opts": self.model._meta,
            "max_days": MAX_DAYS,
        }
        try:
            days = self._days(request)
        except ValueError as error:
            context.update(error=str(error), first=request.GET.get("first", ""))
            return TemplateResponse(request, "admin/orders/day_report.html", context, status=400)
        report = self._report(days)
        context.update(
            report=report,
            days=days,
            first=days.first.isoformat(),
            last=days.last.isoformat(),
            before=(days.first - timedelta(days=1)).isoformat(),
            after=(days.last + timedelta(days=1)).isoformat(),
            charts=report_charts(report, nonce=str(request.csp_nonce)),
            tables=report_tables(report),
        )
        return TemplateResponse(request, "admin/orders/day_report.html", context)

    def csv_view(self, request: HttpRequest) -> HttpResponse:
        try:
            days = self._days(request)
        except ValueError as error:
            return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
        response = HttpResponse(
            report_csv(self._report(days)), content_type="text/csv; charset=utf-8"
        )
        name = f"bar-report-{days.first}" + (f"-to-{days.last}" if days.last != days.first else "")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
