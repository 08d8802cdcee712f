package text

import (
	"fmt"
	"time"
)

func info(id ID, text string) Message { return Message{ID: id, Text: text, Type: Info} }

func errorMessage(id ID, text string, context map[string]any) Message {
	return Message{ID: id, Text: text, Type: Error, Context: context}
}

// Labels and buttons.

func NodeLabelPassword() Message { return info(InfoNodeLabelInputPassword, "Password") }
func NodeLabelSave() Message     { return info(InfoNodeLabelSave, "Save") }
func NodeLabelID() Message       { return info(InfoNodeLabelID, "ID") }
func SignIn() Message            { return info(InfoLogin, "Sign in") }
func SignUp() Message            { return info(InfoRegistration, "Sign up") }

// NodeLabel is a label taken from the identity schema's title of a trait.
func NodeLabel(title string) Message {
	m := info(InfoNodeLabelGenerated, title)
	m.Context = map[string]any{"title": title}
	return m
}

// LoginReAuth asks a signed-in user to confirm a protected change.
func LoginReAuth() Message {
	return info(InfoLoginReAuth, "Please confirm this action by verifying that it is you.")
}

// SettingsSaved says a settings change was saved.
func SettingsSaved() Message {
	return Message{ID: InfoSettingsUpdateSuccess, Text: "Your changes have been saved!", Type: Success}
}

// Flow errors.

// InvalidCredentials answers a failed login, whatever failed.
func InvalidCredentials() Message {
	return errorMessage(ErrorValidationInvalidCredentials,
		"The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.", nil)
}

// DuplicateCredentials answers a registration or change whose login
// identifier belongs to another account.
func DuplicateCredentials() Message {
	return errorMessage(ErrorValidationDuplicateCredentials,
		"An account with the same identifier (email, phone, username, ...) exists already.", nil)
}

// IdentifierMissing answers a registration whose traits hold no login
// identifier, so nobody could sign in to the account.
func IdentifierMissing() Message {
	return errorMessage(ErrorValidationIdentifierMissing,
		"Could not find any login identifiers. Did you forget to set them? This could also be caused by a server misconfiguration.", nil)
}

// TooManyAttempts answers a login whose identifier failed too often (ours;
// Kratos has no throttle).
func TooManyAttempts(wait time.Duration) Message {
	mins := max(1, int((wait+time.Minute-1)/time.Minute))
	m := Generic(fmt.Sprintf("Too many failed attempts. Please try again in %d minutes.", mins))
	m.Context["retry_after_minutes"] = mins
	return m
}

// SettingsNoStrategy answers a settings submission whose method is missing
// or unknown.
func SettingsNoStrategy() Message {
	return errorMessage(ErrorValidationSettingsNoStrategy,
		"Could not find a strategy to update your settings. Did you fill out the form correctly?", nil)
}

// Generic is Kratos' message without an id of its own: the text is
// repeated as the context's reason.
func Generic(reason string) Message {
	return errorMessage(ErrorValidationGeneric, reason, map[string]any{"reason": reason})
}

// InvalidIdentifier refuses a login identifier that cannot be normalised
// (an invisible character, a stray combining mark, a phone number not in
// international format, ...): Kratos' generic message, the reason naming
// the value and what is wrong with it. Kratos v1.3.1 has no message of its
// own for this (it does not normalise).
func InvalidIdentifier(reason string) Message { return Generic(reason) }

// NoChanges answers a profile submit without traits.
func NoChanges() Message { return Generic("Did not receive any value changes.") }

// ProfileConflict answers a submit against a form built from an older
// version of the identity (ours; Kratos overwrites).
func ProfileConflict() Message {
	m := Generic("Your profile was changed elsewhere after this form was loaded. The form now shows the current values; please review them and submit again.")
	m.Context = map[string]any{"reason": "version conflict"}
	return m
}

// Required says a property is missing.
func Required(property string) Message {
	return errorMessage(ErrorValidationRequired, fmt.Sprintf("Property %s is missing.", property), map[string]any{"property": property})
}

// FlowExpired is the message of the flow that replaces an expired one of
// this kind ("login", "registration", "settings").
func FlowExpired(kind string, expiredAt, now time.Time) Message {
	ids := map[string]ID{
		"login": ErrorValidationLoginFlowExpired, "registration": ErrorValidationRegistrationFlowExpired,
		"settings": ErrorValidationSettingsFlowExpired, "recovery": ErrorValidationRecoveryFlowExpired,
		"verification": ErrorValidationVerificationFlowExpired,
	}
	return errorMessage(ids[kind],
		"The "+kind+" flow expired "+minutes(now.Sub(expiredAt))+" minutes ago, please try again.",
		map[string]any{"expired_at": expiredAt.UTC(), "expired_at_unix": expiredAt.Unix()})
}

// ProfileRequestExpired is the legacy profile API's message for an expired
// request.
func ProfileRequestExpired(expiredAt, now time.Time) Message {
	return errorMessage(ErrorValidationSettingsFlowExpired,
		"The profile request expired "+minutes(now.Sub(expiredAt))+" minutes ago, please try again.", nil)
}

// Password policy.

func PasswordTooShort(min, actual int) Message {
	return errorMessage(ErrorValidationPasswordMinLength,
		fmt.Sprintf("The password must be at least %d characters long, but got %d.", min, actual),
		map[string]any{"min_length": min, "actual_length": actual})
}

func PasswordTooLong(max, actual int) Message {
	return errorMessage(ErrorValidationPasswordMaxLength,
		fmt.Sprintf("The password must be at most %d characters long, but got %d.", max, actual),
		map[string]any{"max_length": max, "actual_length": actual})
}

func PasswordTooSimilar() Message {
	return errorMessage(ErrorValidationPasswordIdentifier,
		"The password can not be used because it is too similar to the identifier.", nil)
}

// minutes prints a duration in minutes as Kratos does ("%.2f").
func minutes(d time.Duration) string { return fmt.Sprintf("%.2f", d.Minutes()) }

// Recovery and verification (the code method).

func NodeLabelEmail() Message        { return info(InfoNodeLabelEmail, "Email") }
func NodeLabelResendCode() Message   { return info(InfoNodeLabelResendCode, "Resend code") }
func NodeLabelContinue() Message     { return info(InfoNodeLabelContinue, "Continue") }
func NodeLabelRecoveryCode() Message { return info(InfoNodeLabelRecoveryCode, "Recovery code") }
func NodeLabelVerificationCode() Message {
	return info(InfoNodeLabelVerificationCode, "Verification code")
}

// codeSent is the end of both "code sent" messages.
const codeSent = "has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."

// RecoveryCodeSent says a recovery code was sent (or, for an unknown
// address, pretends to).
func RecoveryCodeSent() Message {
	return info(InfoRecoveryEmailWithCodeSent, "An email containing a recovery code "+codeSent)
}

// VerificationCodeSent says a verification code was sent (or pretends to).
func VerificationCodeSent() Message {
	return info(InfoVerificationCodeSent, "An email containing a verification code "+codeSent)
}

// VerificationSuccessful says the address is verified.
func VerificationSuccessful() Message {
	return Message{ID: InfoVerificationSuccessful, Text: "You successfully verified your email address.", Type: Success}
}

// RecoverySuccessful greets a recovered account on its settings flow; the
// session is privileged until privilegedUntil.
func RecoverySuccessful(privilegedUntil, now time.Time) Message {
	return Message{
		ID: InfoRecoverySuccessful, Type: Success,
		Text: "You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next " +
			minutes(privilegedUntil.Sub(now)) + " minutes.",
		Context: map[string]any{
			"privilegedSessionExpiresAt":         privilegedUntil.UTC(),
			"privileged_session_expires_at":      privilegedUntil.UTC(),
			"privileged_session_expires_at_unix": privilegedUntil.Unix(),
		},
	}
}

// RecoveryCodeInvalid and VerificationCodeInvalid answer a wrong code.
func RecoveryCodeInvalid() Message {
	return errorMessage(ErrorValidationRecoveryCodeInvalid, "The recovery code is invalid or has already been used. Please try again.", nil)
}

func VerificationCodeInvalid() Message {
	return errorMessage(ErrorValidationVerificationCodeInvalid, "The verification code is invalid or has already been used. Please try again.", nil)
}

// RetrySuccess answers a submit to a flow that succeeded already ("recovery"
// or "verification").
func RetrySuccess(kind string) Message {
	id := ErrorValidationVerificationRetrySuccess
	if kind == "recovery" {
		id = ErrorValidationRecoveryRetrySuccess
	}
	return errorMessage(id, "The request was already completed successfully and can not be retried.", nil)
}

// NoStrategy answers a recovery or verification submit without a method
// we have.
func NoStrategy(kind string) Message {
	if kind == "recovery" {
		return errorMessage(ErrorValidationRecoveryNoStrategy, "Could not find a strategy to recover your account with. Did you fill out the form correctly?", nil)
	}
	return errorMessage(ErrorValidationVerificationNoStrategy, "Could not find a strategy to verify your account with. Did you fill out the form correctly?", nil)
}

// CodeSubmittedTooOften closes a flow after too many code submissions.
func CodeSubmittedTooOften() Message {
	return Generic("The request was submitted too often. Please request another code.")
}

// CodeUsed answers a code that was used already.
func CodeUsed() Message { return Generic("The code was already used. Please request another code.") }

// AddressChangePending says a change to address waits for the code sent
// to it; the current address stays in force until then (ours).
func AddressChangePending(address string) Message {
	m := info(InfoSettingsAddressChangePending, "We sent a code to "+address+". The change of your address takes effect once you enter it; until then your current address stays in use.")
	m.Context = map[string]any{"address": address}
	return m
}

// AddressChangeCancelled says a pending address change was dropped (ours).
func AddressChangeCancelled() Message {
	return info(InfoSettingsAddressChangeCancelled, "The change of your address was cancelled.")
}

// OneAddressAtATime refuses a settings change that replaces more than one
// address (Kratos master's 4050002).
func OneAddressAtATime() Message {
	return errorMessage(ErrorValidationSettingsOneAddressAtATime, "You can only change one address at a time. Please update each address separately.", nil)
}
