"""The maps' two routes on this site: the basemap file (by HTTP Range) and address search."""

from django.http import FileResponse, Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.http import http_date, quote_etag
from django.views.decorators.http import require_GET, require_http_methods

from portal import geocoding, maps, ratelimit

CHUNK = 64 * 1024
SMALL_RANGE = 1024 * 1024  # read at once; larger ranges are streamed in CHUNKs
GEOCODE_PER_MINUTE = 30


def _chunks(path, start: int, length: int):
    with open(path, "rb") as f:
        f.seek(start)
        while length > 0:
            block = f.read(min(CHUNK, length))
            if not block:
                return
            length -= len(block)
            yield block


@require_http_methods(["GET", "HEAD"])
def basemap(request):
    """The agency's PMTiles basemap, whole or one byte range (206); streamed, never read whole."""
    path = maps.pmtiles_path()
    if path is None:
        raise Http404("No basemap is installed.")
    stat = path.stat()
    size = stat.st_size
    etag = quote_etag(f"{stat.st_mtime_ns:x}-{size:x}")
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Last-Modified": http_date(stat.st_mtime),
        "Cache-Control": "public, max-age=3600",
    }
    wanted = request.headers.get("Range", "")
    # If-Range with another version's validator: the client's cached parts are stale, send it all.
    if_range = request.headers.get("If-Range")
    if if_range and if_range != etag:
        wanted = ""
    try:
        part = maps.byte_range(wanted, size)
    except maps.UnsatisfiableRange:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    if request.method == "HEAD":
        response = HttpResponse(status=200 if part is None else 206)
        response["Content-Length"] = str(size if part is None else part.length)
    elif part is None:
        response = FileResponse(open(path, "rb"))  # noqa: SIM115 - FileResponse closes it
    elif part.length <= SMALL_RANGE:
        # A tile or a directory (the reads a map makes): one bounded read, no generator.
        with open(path, "rb") as f:
            f.seek(part.start)
            response = HttpResponse(f.read(part.length), status=206)
    else:
        response = StreamingHttpResponse(_chunks(path, part.start, part.length), status=206)
        response["Content-Length"] = str(part.length)
    if part is not None:
        response["Content-Range"] = f"bytes {part.start}-{part.end}/{size}"
    response["Content-Type"] = "application/vnd.pmtiles"
    for name, value in headers.items():
        response[name] = value
    return response


@require_GET
def geocode(request):
    """One address looked up through portal.geocoding, for the maps' address search box."""
    limit = ratelimit.hit(
        "geocode", ratelimit.client_key(request), GEOCODE_PER_MINUTE, window_seconds=60
    )
    if not limit.allowed:
        response = JsonResponse({"detail": "Too many searches: wait a minute."}, status=429)
        response["Retry-After"] = str(limit.retry_after)
        return response
    try:
        place = geocoding.geocode(request.GET.get("q", ""))
    except ValueError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    except geocoding.GeocoderUnavailable:
        return JsonResponse({"detail": "unavailable"}, status=503)
    # No match is an answer, not an error: the page says so in words.
    if place is None:
        return JsonResponse({"found": False})
    return JsonResponse(
        {"found": True, "lat": place.latitude, "lon": place.longitude, "label": place.label}
    )
