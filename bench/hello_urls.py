"""One Django hello-world JSON view, served through the full Canvass middleware stack."""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def hello(request):
    return JsonResponse({"hello": "world"})


urlpatterns = [path("hello/", hello)]
