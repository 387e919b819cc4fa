"""Django admin for market data, with an "Import bars from CSV" page linked from the instrument list."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from marketdata.csv_import import FORMAT_HINT, MAX_FILE_BYTES, CsvImportReport, MalformedCsv, import_bar_csv
from marketdata.models import TIMEFRAME_CHOICES, Bar, BarChunk, Instrument, Watchlist, WatchlistItem

SKIPPED_ROWS_SHOWN = 500


class BarCsvUploadForm(forms.Form):
    instrument = forms.ModelChoiceField(queryset=Instrument.objects.order_by("symbol", "venue"))
    timeframe = forms.ChoiceField(choices=TIMEFRAME_CHOICES)
    file = forms.FileField(
        help_text=f"UTF-8 CSV with the header {FORMAT_HINT}; open_time in ISO 8601 with an offset or unix "
        "seconds. Existing bars at the same open time are replaced."
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it."
            )
        return upload


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = [
        "symbol",
        "name",
        "asset_class",
        "venue",
        "quote_currency",
        "tick_size",
        "lot_size",
        "tradable",
        "active",
        "data_source",
    ]
    list_filter = ["asset_class", "venue", "tradable", "active", "fractionable", "shortable", "data_source"]
    search_fields = ["symbol", "name"]
    list_editable = ["tradable", "active"]
    change_list_template = "admin/marketdata/instrument/change_list.html"  # adds the import link

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "import-bars/",
            self.admin_site.admin_view(self.import_bars_view),
            name="marketdata_instrument_import_bars",
        )
        return [upload, *super().get_urls()]

    def import_bars_view(self, request: HttpRequest) -> TemplateResponse:
        """Upload a CSV of bars for one instrument and show the import report (one transaction)."""
        if not request.user.has_perms(["marketdata.add_bar", "marketdata.change_bar"]):
            raise PermissionDenied
        report: CsvImportReport | None = None
        if request.method == "POST":
            form = BarCsvUploadForm(request.POST, request.FILES)
            if form.is_valid():
                instrument = form.cleaned_data["instrument"]
                try:
                    report = import_bar_csv(
                        instrument=instrument,
                        timeframe=form.cleaned_data["timeframe"],
                        data=form.cleaned_data["file"].read(),
                    )
                except MalformedCsv as error:
                    form.add_error("file", f"{error.message} Nothing was imported.")
                else:
                    level = messages.WARNING if report.skipped else messages.SUCCESS
                    self.message_user(request, f"{instrument.symbol}: {report.summary()}", level)
        else:
            form = BarCsvUploadForm(initial={"instrument": request.GET.get("instrument"), "timeframe": "1m"})
        context = {
            **self.admin_site.each_context(request),
            "title": "Import bars from CSV",
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "skipped_lines": report.skipped_lines(SKIPPED_ROWS_SHOWN) if report else [],
            "more_skipped": max(0, len(report.skipped) - SKIPPED_ROWS_SHOWN) if report else 0,
        }
        return TemplateResponse(request, "admin/marketdata/instrument/import_bars.html", context)


@admin.register(Bar)
class BarAdmin(admin.ModelAdmin):
    list_display = ["instrument", "timeframe", "open_time", "open", "high", "low", "close", "volume"]
    list_filter = ["timeframe", "instrument__asset_class"]
    search_fields = ["instrument__symbol"]
    list_select_related = ["instrument"]
    raw_id_fields = ["instrument"]
    show_full_result_count = False  # counting millions of bars on every page is slow
    date_hierarchy = "open_time"


@admin.register(BarChunk)
class BarChunkAdmin(admin.ModelAdmin):
    """The frame cache, for inspection: read-only; "delete" is always safe (the next read rebuilds)."""

    list_display = ["instrument", "timeframe", "bucket", "version", "bar_count", "cached"]
    list_filter = ["timeframe"]
    search_fields = ["instrument__symbol"]
    list_select_related = ["instrument"]
    exclude = ["payload"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[BarChunk]:
        return super().get_queryset(request).defer("payload")

    @admin.display(boolean=True)
    def cached(self, chunk: BarChunk) -> bool:
        return chunk.bar_count is not None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: BarChunk | None = None) -> bool:
        return False


class WatchlistItemInline(admin.TabularInline):
    model = WatchlistItem
    extra = 0
    raw_id_fields = ["instrument"]


@admin.register(Watchlist)
class WatchlistAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    inlines = [WatchlistItemInline]


@admin.register(WatchlistItem)
class WatchlistItemAdmin(admin.ModelAdmin):
    list_display = ["watchlist", "instrument", "position", "added_at"]
    list_filter = ["instrument__asset_class"]
    search_fields = ["watchlist__name", "instrument__symbol"]
    list_select_related = ["watchlist", "instrument"]
    raw_id_fields = ["watchlist", "instrument"]
