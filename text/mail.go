package text

// The texts of the courier's built-in mails. Kratos keeps these in its
// built-in templates rather than in its message catalogue (mails have no
// message ids); they are here so that every English text of the project is
// in one place. The subjects are Kratos' own (v1.3.1; the address-change
// notice from Kratos master); the bodies follow Kratos' wording.
//
// The built-in templates (courier/templates) read them with the template
// function `text`, e.g. {{ text "recovery_code_valid.subject" }}; override
// templates may too.
var mailTexts = map[string]string{
	"greeting":          "Hi,",
	"if_not_you":        "If this was not you, please ignore this email.",
	"different_address": "If this was you, check if you signed up using a different address.",

	"verification_code_valid.subject": "Please verify your email address",
	"verification_code_valid.intro":   "please verify your account by entering the following code:",
	"verification_code_valid.link":    "or clicking the following link:",

	"verification_code_invalid.subject": "Someone tried to verify this email address",
	"verification_code_invalid.intro":   "someone asked to verify this email address, but we were unable to find an account for this address.",

	"recovery_code_valid.subject": "Recover access to your account",
	"recovery_code_valid.intro":   "please recover access to your account by entering the following code:",

	"recovery_code_invalid.subject": "Account access attempted",
	"recovery_code_invalid.intro":   "you (or someone else) entered this email address when trying to recover access to an account.",
	"recovery_code_invalid.failed":  "However, this email address is not on our database of registered users and therefore the attempt has failed.",

	"verifiable_address_changed.subject": "A verifiable address on your account was changed",
	"verifiable_address_changed.intro":   "an address on your account was changed, and this address no longer belongs to it.",
	"verifiable_address_changed.if_not":  "If you did not make this change, recover access to your account and change your password.",
}

// MailText returns the mail text with this key, and whether there is one.
func MailText(key string) (string, bool) {
	s, ok := mailTexts[key]
	return s, ok
}
