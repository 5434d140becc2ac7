import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minyi.settings")
application = get_wsgi_application()

# Imported after Django is set up: the gateway's callbacks get a short middleware chain.
from minyi.core.wsgi import application_with_gateway  # noqa: E402

application = application_with_gateway(application)
