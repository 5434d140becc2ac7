"""The citizen portal's front page (群众门户): tiles leading to each citizen service."""

from django.shortcuts import render


def home(request):
    return render(request, "portal/home.html")
