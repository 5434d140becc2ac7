"""How integrating systems (业务系统) authenticate to the JSON API: an integration key (ApiKey,
owned by orgs) in the `X-API-Key` header. Every key-authenticated router uses this class."""

from ninja.security import APIKeyHeader

from minyi.orgs.services import apikey_authenticate


class ApiKeyAuth(APIKeyHeader):
    """`X-API-Key: mk_…` — an integration key, scoped to a unit's subtree."""

    param_name = "X-API-Key"

    def authenticate(self, request, key):
        return apikey_authenticate(key)
