"""The console's marketers: users of the stack's Cognito user pool, a `shop-<id>` group per shop.

Used by `kaeri console users ...` against a deployed stack or the local one, and by the local stack to
create its pool and the demo marketer. Passwords are set permanent here and the operator hands the
marketer the password this prints once (a user given a temporary password chooses a new one at the
console's first sign-in).

The pool and its app client are defined once, below (POOL and CLIENT): infra/kaeri_cdk/console.py
renders them for AWS, `create_pool` creates them on moto for the local stack and the tests.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import string
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from kaeri.console.auth import REFRESH_TOKEN_HOURS, SHOP_GROUP_PREFIX, shop_group, shops_of

# The password policy of the pool.
PASSWORD_POLICY = {
    "MinimumLength": 12,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 3,
}
# What the console reads from the ID token besides the groups.
READ_ATTRIBUTES = ["email", "email_verified", "locale"]
AUTH_FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


@dataclass(frozen=True)
class PoolDefinition:
    """The console's user pool: marketers are created by an operator, never sign up."""

    password_policy: dict[str, Any]
    admin_create_user_only: bool = True
    mfa: Literal["OFF", "OPTIONAL", "ON"] = "OPTIONAL"  # TOTP only (the console answers its code)
    case_sensitive_usernames: bool = False
    group_prefix: str = SHOP_GROUP_PREFIX  # one group `shop-<id>` per shop (kaeri.console.auth.shop_group)


@dataclass(frozen=True)
class ClientDefinition:
    """The console's app client: no secret, password sign-in and refresh, no OAuth."""

    name: str
    auth_flows: tuple[str, ...]
    read_attributes: tuple[str, ...]
    id_token_minutes: int = 60  # the session cookie's life; then the refresh token renews it
    access_token_minutes: int = 60
    refresh_token_hours: int = REFRESH_TOKEN_HOURS  # the refresh cookie's Max-Age is the same
    prevent_user_existence_errors: bool = True
    token_revocation: bool = True


POOL = PoolDefinition(password_policy=PASSWORD_POLICY)
CLIENT = ClientDefinition(
    name="console", auth_flows=tuple(AUTH_FLOWS), read_attributes=tuple(READ_ATTRIBUTES)
)
_SHOP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")  # a Cognito group name is at most 128


class ConsoleUserError(ValueError):
    """A request the pool cannot carry out; the message says what to change."""


@dataclass(frozen=True)
class ConsoleUser:
    username: str
    shops: frozenset[str]
    email: str | None
    language: Literal["ja", "en"]
    enabled: bool
    status: str


@dataclass(frozen=True)
class ConsolePool:
    user_pool_id: str
    client_id: str


def create_pool(idp: Any, name: str) -> ConsolePool:
    """POOL and CLIENT in a Cognito API (moto for the local stack and the tests)."""
    pool = idp.create_user_pool(
        PoolName=name,
        Policies={"PasswordPolicy": POOL.password_policy},
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": POOL.admin_create_user_only},
        MfaConfiguration=POOL.mfa,
        UsernameConfiguration={"CaseSensitive": POOL.case_sensitive_usernames},
        AutoVerifiedAttributes=["email"],
    )["UserPool"]["Id"]
    if POOL.mfa != "OFF":  # authenticator apps (TOTP) only, as the deployed pool
        idp.set_user_pool_mfa_config(
            UserPoolId=pool, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration=POOL.mfa
        )
    client = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName=CLIENT.name,
        GenerateSecret=False,
        ExplicitAuthFlows=list(CLIENT.auth_flows),
        ReadAttributes=list(CLIENT.read_attributes),
        PreventUserExistenceErrors="ENABLED" if CLIENT.prevent_user_existence_errors else "LEGACY",
        EnableTokenRevocation=CLIENT.token_revocation,
        IdTokenValidity=CLIENT.id_token_minutes,
        AccessTokenValidity=CLIENT.access_token_minutes,
        RefreshTokenValidity=CLIENT.refresh_token_hours,
        TokenValidityUnits={"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "hours"},
    )["UserPoolClient"]["ClientId"]
    return ConsolePool(pool, client)


def generate_password() -> str:
    """A password the policy accepts: 20 random characters with each required class."""
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(16))
    return (
        core
        + secrets.choice(string.ascii_uppercase)
        + secrets.choice(string.ascii_lowercase)
        + secrets.choice(string.digits)
        + secrets.choice("!@#%^*-_+=")
    )


def check_shop_id(shop_id: str) -> str:
    if not _SHOP_ID.match(shop_id):
        raise ConsoleUserError(
            f"shop id {shop_id!r}: use letters, digits, '.', '_' and '-' (at most 120 characters)"
        )
    return shop_id


class ConsoleUsers:
    def __init__(self, idp: Any, user_pool_id: str) -> None:
        self._idp = idp
        self.user_pool_id = user_pool_id

    def add(
        self,
        username: str,
        shops: list[str],
        *,
        email: str | None = None,
        language: Literal["ja", "en"] | None = None,
        password: str | None = None,
    ) -> tuple[ConsoleUser, str | None]:
        """Create the user if new (with `password`, or a generated one) and add them to each shop.

        Returns the user and the password set now (None when the user existed and no password was given).
        """
        if not shops:
            raise ConsoleUserError("name at least one --shop the marketer works for")
        for shop in shops:
            check_shop_id(shop)
        existing = self._get(username)
        chosen = password
        if existing is None:
            attributes = [{"Name": "locale", "Value": language or "ja"}]
            if email:
                attributes += [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
            self._call(
                "admin_create_user",
                UserPoolId=self.user_pool_id,
                Username=username,
                UserAttributes=attributes,
                MessageAction="SUPPRESS",
            )
            chosen = password or generate_password()
        elif language or email:
            updates = [{"Name": "locale", "Value": language}] if language else []
            if email:
                updates += [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
            self._call(
                "admin_update_user_attributes",
                UserPoolId=self.user_pool_id,
                Username=username,
                UserAttributes=updates,
            )
        if chosen is not None:
            try:
                self._call(
                    "admin_set_user_password",
                    UserPoolId=self.user_pool_id,
                    Username=username,
                    Password=chosen,
                    Permanent=True,
                )
            except ConsoleUserError:
                if existing is None:  # no half-made user without a password
                    self._call("admin_delete_user", UserPoolId=self.user_pool_id, Username=username)
                raise
        for shop in shops:
            with contextlib.suppress(self._idp.exceptions.GroupExistsException):
                self._idp.create_group(
                    UserPoolId=self.user_pool_id,
                    GroupName=shop_group(shop),
                    Description=f"Console access to shop {shop}",
                )
            self._call(
                "admin_add_user_to_group",
                UserPoolId=self.user_pool_id,
                Username=username,
                GroupName=shop_group(shop),
            )
        user = self._get(username)
        assert user is not None
        return user, chosen

    def remove(self, username: str, shops: list[str] | None = None) -> ConsoleUser | None:
        """Take the user out of `shops`, or delete the user when no shop is named.

        Returns the user as they are now (None once deleted).
        """
        if self._get(username) is None:
            raise ConsoleUserError(f"no console user {username!r}")
        if not shops:
            self._call("admin_delete_user", UserPoolId=self.user_pool_id, Username=username)
            return None
        for shop in shops:
            self._call(
                "admin_remove_user_from_group",
                UserPoolId=self.user_pool_id,
                Username=username,
                GroupName=shop_group(check_shop_id(shop)),
            )
        return self._get(username)

    def list(self, shop: str | None = None) -> list[ConsoleUser]:
        """Every console user (or the members of one shop), by username."""
        if shop is not None:
            names = [
                u["Username"]
                for page in self._paginate(
                    "list_users_in_group",
                    UserPoolId=self.user_pool_id,
                    GroupName=shop_group(check_shop_id(shop)),
                )
                for u in page.get("Users", [])
            ]
        else:
            names = [
                u["Username"]
                for page in self._paginate("list_users", UserPoolId=self.user_pool_id)
                for u in page.get("Users", [])
            ]
        users = [self._get(name) for name in sorted(names)]
        return [u for u in users if u is not None]

    # helpers ------------------------------------------------------------------------------------

    def _get(self, username: str) -> ConsoleUser | None:
        try:
            found = self._idp.admin_get_user(UserPoolId=self.user_pool_id, Username=username)
        except self._idp.exceptions.UserNotFoundException:
            return None
        attributes = {a["Name"]: a["Value"] for a in found.get("UserAttributes", [])}
        groups = [
            g["GroupName"]
            for page in self._paginate(
                "admin_list_groups_for_user", UserPoolId=self.user_pool_id, Username=username
            )
            for g in page.get("Groups", [])
        ]
        return ConsoleUser(
            username=found["Username"],
            shops=shops_of(groups),
            email=attributes.get("email"),
            language="en" if attributes.get("locale", "").startswith("en") else "ja",
            enabled=bool(found.get("Enabled", True)),
            status=str(found.get("UserStatus", "")),
        )

    def _paginate(self, operation: str, **kwargs: Any) -> Any:
        try:
            if self._idp.can_paginate(operation):
                yield from self._idp.get_paginator(operation).paginate(**kwargs)
            else:
                yield getattr(self._idp, operation)(**kwargs)
        except self._idp.exceptions.ResourceNotFoundException:
            if operation == "list_users_in_group":
                return  # no member of that shop yet
            raise ConsoleUserError(f"user pool {self.user_pool_id} not found") from None

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._idp, operation)(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            if code in ("InvalidPasswordException", "InvalidParameterException", "UsernameExistsException"):
                raise ConsoleUserError(error.get("Message") or code) from None
            if code == "UserNotFoundException":
                raise ConsoleUserError(f"no console user {kwargs.get('Username')!r}") from None
            if code == "ResourceNotFoundException":
                raise ConsoleUserError(
                    error.get("Message") or f"user pool {self.user_pool_id} not found"
                ) from None
            raise


__all__ = [
    "SHOP_GROUP_PREFIX",
    "ConsolePool",
    "ConsoleUser",
    "ConsoleUserError",
    "ConsoleUsers",
    "create_pool",
    "generate_password",
]
