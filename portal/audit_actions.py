"""The platform's named audit actions. Other apps register theirs the same way."""

from portal.audit import register_action

LOGIN_SUCCEEDED = register_action("auth.login_succeeded", "Signed in (both factors when required)")
LOGIN_FAILED = register_action("auth.login_failed", "A sign-in attempt failed")
LOGOUT = register_action("auth.logout", "Signed out")
SESSION_EXPIRED = register_action("auth.session_expired", "Staff session ended after being idle")
ACCOUNT_LOCKED = register_action("auth.account_locked", "Account locked after repeated failures")
ACCOUNT_UNLOCKED = register_action("auth.account_unlocked", "Account unlocked by an admin")
MFA_ENROLLED = register_action("auth.mfa_enrolled", "A TOTP device was confirmed")
MFA_RESET = register_action(
    "auth.mfa_reset", "An admin removed a user's TOTP devices", needs_reason=True
)
PASSWORD_CHANGED = register_action("auth.password_changed", "Password set or changed")
ACCOUNT_CREATED = register_action("account.created", "An account was created")
ACCOUNT_SIGNUP_EXISTING = register_action(
    "account.signup_existing", "Someone signed up with an existing account's email (owner told)"
)
ACCOUNT_EMAIL_VERIFIED = register_action(
    "account.email_verified", "A public account verified its email"
)
ROLE_CHANGED = register_action("account.role_changed", "A user's role was changed")
ACCOUNT_DISABLED = register_action("account.disabled", "An account was disabled")
ACCOUNT_ENABLED = register_action("account.enabled", "An account was re-enabled")
ADMIN_ADDED = register_action("admin.added", "An object was added in the admin")
ADMIN_CHANGED = register_action("admin.changed", "An object was changed in the admin")
ADMIN_DELETED = register_action("admin.deleted", "An object was deleted in the admin")
AUDIT_LOG_VIEWED = register_action("audit.viewed", "The audit log was read")
AUDIT_LOG_EXPORTED = register_action("audit.exported", "The audit log was exported as CSV")
AUDIT_CHECKPOINT_TAKEN = register_action(
    "audit.checkpoint_taken", "The daily checkpoint of the audit chain's head was signed"
)
ACCESS_DENIED = register_action("access.denied", "A request was refused for lack of permission")
