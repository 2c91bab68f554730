from clinic_site.exceptions import ClinicError, Conflict


class InvalidVerificationCode(ClinicError):
    code = "invalid_code"
    status = 400
    field = "code"
    # One message for every failure (unknown address, wrong, expired, used, too many tries):
    # the answer must not tell whether an account exists.
    default_detail = (
        "That code is not valid. Codes expire after 15 minutes and work once; "
        "ask for a new code if you need one (after many wrong tries, tomorrow)."
    )


class AdministratorLimitReached(Conflict):
    code = "administrator_limit"
    field = "role"
    default_detail = "The clinic already has the maximum number of administrators."


class LastAdministrator(Conflict):
    code = "last_administrator"
    default_detail = "The clinic must keep at least one active administrator."


class EmailNotVerified(ClinicError):
    code = "email_not_verified"
    status = 403
    default_detail = "Please verify your e-mail address first."
