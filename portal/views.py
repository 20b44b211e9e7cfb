import csv
import json
import time
from base64 import b32encode
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from redis import Redis

from portal import policies, ratelimit, selectors, services
from portal.decorators import requires
from portal.forms import AuditFilterForm, CodeForm, LoginForm, SignupForm
from portal.models import User
from portal.pagination import BoundedPaginator
from portal.qr import qr_svg
from portal.selectors import AuditFilters

PENDING_KEY = "canvass_pending_login"
PENDING_MAX_AGE_SECONDS = 5 * 60


def _posted(request):
    """POST data to bind a form to (even when empty), or None to show it unbound."""
    return request.POST if request.method == "POST" else None


# --- sign-in -----------------------------------------------------------------------------


def _safe_next(request, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("portal:home")


def _pending_user(request) -> User | None:
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_MAX_AGE_SECONDS:
        return None
    return User.objects.select_related("agency").filter(pk=pending["uid"], is_active=True).first()


def login_view(request):
    form = LoginForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        check = services.login_check_password(
            email=form.cleaned_data["email"], password=form.cleaned_data["password"]
        )
        if not check.ok:
            form.add_error(None, check.error)
        else:
            user = check.user
            next_url = _safe_next(request, request.POST.get("next", ""))
            if not policies.needs_second_factor(user):
                services.login_complete(request=request, user=user, device=None)
                return redirect(next_url)
            request.session.cycle_key()
            request.session[PENDING_KEY] = {"uid": user.pk, "at": time.time(), "next": next_url}
            if services.confirmed_totp_device(user=user) is None:
                return redirect("portal:login_enrol")
            return redirect("portal:login_verify")
    return render(request, "portal/login.html", {"form": form, "next": request.GET.get("next", "")})


def _second_step_refusal(request, user):
    request.session.pop(PENDING_KEY, None)
    if user is not None and User.objects.get(pk=user.pk).is_locked:
        messages.error(
            request,
            _("This account is now locked after repeated failures. %(advice)s")
            % {"advice": services.unlock_advice(user)},
        )
    else:
        messages.error(request, _("Your sign-in timed out. Start again."))
    return redirect("portal:login")


def _finish_login(request, user, device):
    next_url = request.session[PENDING_KEY]["next"]
    del request.session[PENDING_KEY]
    services.login_complete(request=request, user=user, device=device)
    return redirect(next_url)


def login_verify(request):
    user = _pending_user(request)
    if user is None or user.is_locked:
        return _second_step_refusal(request, user)
    device = services.confirmed_totp_device(user=user)
    if device is None:
        return redirect("portal:login_enrol")
    form = CodeForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        if services.totp_verify(user=user, device=device, token=form.cleaned_data["code"]):
            return _finish_login(request, user, device)
        user.refresh_from_db()
        if user.is_locked:
            return _second_step_refusal(request, user)
        form.add_error(
            "code", _("That code is not right. Check your phone's clock and try the newest code.")
        )
    return render(request, "portal/login_verify.html", {"form": form})


def _enrol(request, user, template: str, on_success):
    device = services.totp_device_for_enrolment(user=user)
    form = CodeForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        if services.totp_verify(user=user, device=device, token=form.cleaned_data["code"]):
            services.totp_enrolment_confirm(user=user, device=device)
            return on_success(device)
        form.add_error(
            "code",
            _(
                "That code is not right. Scan the code again or type the key, then try the newest "
                "code."
            ),
        )
    context = {
        "form": form,
        "qr_svg": qr_svg(device.config_url),
        "secret": _base32(device.bin_key),
        "issuer": settings.OTP_TOTP_ISSUER,
    }
    return render(request, template, context)


def _base32(key: bytes) -> str:
    raw = b32encode(key).decode().rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def login_enrol(request):
    user = _pending_user(request)
    if user is None or user.is_locked:
        return _second_step_refusal(request, user)
    if services.confirmed_totp_device(user=user) is not None:
        return redirect("portal:login_verify")
    response = _enrol(
        request,
        user,
        "portal/login_enrol.html",
        lambda device: _finish_login(request, user, device),
    )
    user.refresh_from_db()
    if user.is_locked:
        return _second_step_refusal(request, user)
    return response


@require_POST
def logout_view(request):
    services.logout_user(request=request)
    messages.info(request, _("You are signed out."))
    return redirect("portal:login")


# --- public accounts ---------------------------------------------------------------------


def _too_many(request, limit: ratelimit.Limit):
    response = render(request, "portal/too_many.html", status=429)
    response["Retry-After"] = str(limit.retry_after)
    return response


def signup(request):
    """A new address and one that has an account (a resident's or staff's) get the same page."""
    form = SignupForm(_posted(request))
    if request.method == "POST":
        valid = form.is_valid()
        email = form.cleaned_data["email"] if valid else None
        limit = ratelimit.hit_all("signup", request=request, email=email)
        if not limit.allowed:
            return _too_many(request, limit)
        if valid:
            try:
                services.public_user_signup(**form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return render(request, "portal/signup_sent.html", {"email": email})
    return render(request, "portal/signup.html", {"form": form})


def signup_verify(request):
    user = services.public_user_verify_email(token=request.GET.get("t", ""))
    return render(
        request,
        "portal/signup_verified.html",
        {"verified": user is not None},
        status=200 if user else 400,
    )


def account(request):
    if not request.user.is_authenticated:
        return redirect(f"{reverse('portal:login')}?next={request.path}")
    has_device = services.confirmed_totp_device(user=request.user) is not None
    return render(request, "portal/account.html", {"has_device": has_device})


def account_mfa(request):
    """Public users may add a second factor; staff already have one."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('portal:login')}?next={request.path}")
    if services.confirmed_totp_device(user=request.user) is not None:
        return redirect("portal:account")

    def done(device):
        from django_otp import login as otp_login

        otp_login(request, device)
        messages.success(
            request, _("Your authenticator app is set up. Sign-ins will ask for a code.")
        )
        return redirect("portal:account")

    return _enrol(request, request.user, "portal/account_mfa.html", done)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset (same answer whether the address is known), limited per client and
    per hashed address so it cannot be used to flood someone's inbox."""

    template_name = "portal/password_reset.html"
    email_template_name = "portal/email/password_reset.txt"
    success_url = reverse_lazy("portal:password_reset_done")

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        valid = form.is_valid()
        email = form.cleaned_data["email"] if valid else None
        limit = ratelimit.hit_all("reset", request=request, email=email)
        if not limit.allowed:
            return _too_many(request, limit)
        return self.form_valid(form) if valid else self.form_invalid(form)

    def form_valid(self, form):
        # Not form.save(): that sends the email inside the request, so a known address would
        # take longer to answer than an unknown one. The link is queued for a worker instead.
        services.password_reset_request(email=form.cleaned_data["email"])
        return redirect(self.get_success_url())


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """Set a password from an emailed link (new staff, forgotten password); audited."""

    template_name = "portal/password_set.html"
    success_url = reverse_lazy("portal:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(user=form.user)
        return response


# --- staff -------------------------------------------------------------------------------


def _audit_filters(request) -> tuple[AuditFilterForm, AuditFilters]:
    zone = request.user.agency.time_zone if request.user.agency_id else "UTC"
    form = AuditFilterForm(request.GET or None, zone=zone)
    if form.is_bound and form.is_valid():
        return form, AuditFilters(**form.cleaned_data)
    return form, AuditFilters()


@requires(policies.can_view_audit_log)
def audit_log(request):
    form, filters = _audit_filters(request)
    events = selectors.audit_events_for(actor=request.user, filters=filters).select_related(
        "agency"
    )
    page = BoundedPaginator(events, 50).get_page(request.GET.get("page"))
    page.object_list = selectors.audit_events_readable(actor=request.user, events=page.object_list)
    services.audit_log_record_read(
        actor=request.user, view="audit_log", filters=filters.__dict__, page=page.number
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/audit_log.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_export": policies.can_export_audit_log(request.user),
        },
    )


class _Buffer:
    """csv.writer's file: what it writes for a chunk of rows, taken as one string."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, value: str) -> None:
        self.parts.append(value)

    def take(self) -> str:
        text, self.parts = "".join(self.parts), []
        return text


CSV_COLUMNS = list(selectors.EXPORT_COLUMNS)
# Columns that hold text someone typed or chose (the others are numbers, times, fixed words,
# hex hashes and JSON objects): spreadsheets run cells that start with these as formulas (CSV
# injection), so such a cell gets a leading apostrophe.
_FREE_TEXT = ("actor_label", "actor_role", "actor_agency", "action", "target_type", "target_id",
              "reason", "case_ref", "request_id")  # fmt: skip
_FORMULA_START = frozenset("=+-@\t\r")
_DETAILS = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


def _csv_safe(value) -> str:
    text = str(value)
    return "'" + text if text[:1] in _FORMULA_START else text


def _details_cell() -> Callable[[str], str]:
    """A details text (jsonb's) as its CSV cell, remembered: most rows' details repeat."""
    memo: dict[str, str] = {}

    def cell(text: str) -> str:
        try:
            return memo[text]
        except KeyError:
            if len(memo) >= 4096:
                memo.clear()
            memo[text] = _csv_safe(_DETAILS.encode(json.loads(text)))
            return memo[text]

    return cell


def _csv_rows(rows, details_cell: Callable[[str], str]) -> list[list]:
    """A chunk of AuditRows as the CSV's cells, in CSV_COLUMNS' order."""
    out = []
    for row in rows:
        values = row.__dict__
        for name in _FREE_TEXT:
            text = values[name]
            if text and text[0] in _FORMULA_START:
                values[name] = "'" + text
        out.append(
            [
                values["seq"],
                values["at"],
                values["actor_label"],
                values["actor_role"],
                values["actor_agency"],
                values["action"],
                values["target_type"],
                values["target_id"],
                values["outcome"],
                values["reason"],
                values["case_ref"],
                values["request_id"],
                _csv_safe(_DETAILS.encode(row.details))
                if values.get("details_replaced")
                else details_cell(values["details_text"]),
                values["prev_hash"],
                values["hash"],
            ]
        )
    return out


@requires(policies.can_export_audit_log)
def audit_export(request):
    """The filtered log as CSV, streamed a chunk of rows at a time from a server-side cursor
    (bench/scale.py times it in rows per second against PostgreSQL's own COPY to CSV)."""
    _, filters = _audit_filters(request)
    services.audit_log_record_export(
        actor=request.user,
        filters=filters.__dict__,
        rows=selectors.audit_events_for(actor=request.user, filters=filters).count(),
    )
    buffer = _Buffer()
    writer = csv.writer(buffer)
    details_cell = _details_cell()

    def chunks():
        writer.writerow(CSV_COLUMNS)
        yield buffer.take()
        for rows in selectors.audit_rows_for_export(actor=request.user, filters=filters):
            writer.writerows(_csv_rows(rows, details_cell))
            yield buffer.take()

    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="canvass-audit-log.csv"'
    return response


def healthz(request):
    """Liveness of the parts Canvass cannot work without: the database and Redis."""
    status = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version()")
            status["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means "not ok"
        status["database"] = "unavailable"
    try:
        Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping()
        status["redis"] = "ok"
    except Exception:  # noqa: BLE001
        status["redis"] = "unavailable"
    healthy = all(v == "ok" for v in status.values())
    return JsonResponse(status, status=200 if healthy else 503)


def error_403(request, exception=None):
    return render(request, "403.html", status=403)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a page in the site's look and language instead of Django's raw one.

    The reason stays in the server's log (django.security.csrf); the page only says what to do.
    """
    return render(request, "403_csrf.html", status=403)


def error_404(request, exception=None):
    return render(request, "404.html", status=404)
