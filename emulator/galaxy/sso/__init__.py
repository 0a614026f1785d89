"""Galaxy's sign-in: direct users, the SSO configuration and the SAML service provider.

Modules: `direct_users` (email and password logins, the generated `accountadmin`), `metadata`
(reading the IdP's metadata or manual entry, writing Galaxy's), `settings` (the saved
configuration), `acs` (checking a posted response with pysaml2; imported lazily, since pysaml2
takes about 0.6 s to import), `refusals` (why a sign-in was refused), `service` (`GalaxySso`, what
the pages and the control API call). No aiohttp.web here: the routes live in `galaxy.pages`.
"""

from emulator.galaxy.sso.direct_users import ACCOUNTADMIN_EMAIL, DirectUserError, DirectUsers
from emulator.galaxy.sso.metadata import IdpTrust, SpValues, SsoConfigError
from emulator.galaxy.sso.refusals import LoginRefused, RefusalCode
from emulator.galaxy.sso.service import GalaxySso, SignedIn
from emulator.galaxy.sso.settings import SsoConfiguration

__all__ = [
    "ACCOUNTADMIN_EMAIL",
    "DirectUserError",
    "DirectUsers",
    "GalaxySso",
    "IdpTrust",
    "LoginRefused",
    "RefusalCode",
    "SignedIn",
    "SpValues",
    "SsoConfigError",
    "SsoConfiguration",
]
