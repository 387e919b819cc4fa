from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import ApiToken, TradingAccount, User


class TradingAccountInline(admin.TabularInline):
    model = TradingAccount
    extra = 0
    fields = ["name", "kind", "status", "cash", "starting_cash"]
    readonly_fields = ["kind", "cash", "starting_cash"]
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False  # accounts are opened through accounts.services (funded, named, counted)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["username", "email", "first_name", "last_name"]
    inlines = [TradingAccountInline]


@admin.register(TradingAccount)
class TradingAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "kind", "status", "cash", "starting_cash", "base_currency", "created_at"]
    list_filter = ["kind", "status", "base_currency", "created_at"]
    search_fields = ["name", "owner__username", "owner__email", "id"]
    readonly_fields = [
        "id",
        "owner",
        "kind",
        "cash",
        "starting_cash",
        "status",
        "halted_reason",
        "created_at",
        "updated_at",
        "reset_at",
    ]
    list_select_related = ["owner"]
    actions = ["halt_accounts", "resume_accounts"]

    def has_add_permission(self, request: object) -> bool:
        return False  # accounts are opened through accounts.services (funded, named, counted)

    @admin.action(description="Halt the selected accounts (cancel their open orders, refuse new ones)")
    def halt_accounts(self, request: HttpRequest, queryset: QuerySet[TradingAccount]) -> None:
        for account in queryset:
            # halting cancels the account's open orders (the orders app hears accounts.hooks)
            services.halt_account(account_id=account.pk, reason=f"Halted by {request.user}.")
        self.message_user(request, f"Halted {queryset.count()} account(s).", messages.WARNING)

    @admin.action(description="Resume trading on the selected accounts")
    def resume_accounts(self, request: HttpRequest, queryset: QuerySet[TradingAccount]) -> None:
        for account in queryset:
            services.resume_account(account_id=account.pk)
        self.message_user(request, f"Resumed {queryset.count()} account(s).", messages.SUCCESS)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at", "created_at"]
    search_fields = ["name", "prefix", "owner__username"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    list_select_related = ["owner"]

    def has_add_permission(self, request: object) -> bool:
        return False  # keys are created by their owner, who must see the key once
