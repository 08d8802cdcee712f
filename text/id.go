package text

// ID is a Kratos message id. The first digit is the type (1 info, 4 error),
// the next two the flow, the last four the message.
type ID = int

// Info messages.
const (
	InfoLogin                 ID = 1010001 // the "Sign in" button
	InfoLoginReAuth           ID = 1010003 // a refresh login asks to confirm
	InfoRegistration          ID = 1040001 // the "Sign up" button
	InfoSettingsUpdateSuccess ID = 1050001
	// An address change waits for its code, and was cancelled (ours:
	// Kratos master has no message ids for these yet).
	InfoSettingsAddressChangePending   ID = 1050100
	InfoSettingsAddressChangeCancelled ID = 1050101
	InfoNodeLabelInputPassword         ID = 1070001
	InfoNodeLabelGenerated             ID = 1070002 // a label from the schema's title
	InfoNodeLabelSave                  ID = 1070003
	InfoNodeLabelID                    ID = 1070004

	InfoRecoverySuccessful        ID = 1060001
	InfoRecoveryEmailWithCodeSent ID = 1060003
	InfoNodeLabelEmail            ID = 1070007
	InfoNodeLabelResendCode       ID = 1070008
	InfoNodeLabelContinue         ID = 1070009
	InfoNodeLabelRecoveryCode     ID = 1070010
	InfoNodeLabelVerificationCode ID = 1070011
	InfoVerificationSuccessful    ID = 1080002
	InfoVerificationCodeSent      ID = 1080003
)

// Validation errors (4000xxx) and flow errors (4010xxx login, 4040xxx
// registration, 4050xxx settings).
const (
	ErrorValidationGeneric              ID = 4000001
	ErrorValidationRequired             ID = 4000002
	ErrorValidationMinLength            ID = 4000003
	ErrorValidationInvalidFormat        ID = 4000004
	ErrorValidationInvalidCredentials   ID = 4000006
	ErrorValidationDuplicateCredentials ID = 4000007
	ErrorValidationIdentifierMissing    ID = 4000009
	ErrorValidationMaxLength            ID = 4000017
	ErrorValidationMinimum              ID = 4000018
	ErrorValidationExclusiveMinimum     ID = 4000019
	ErrorValidationMaximum              ID = 4000020
	ErrorValidationExclusiveMaximum     ID = 4000021
	ErrorValidationMultipleOf           ID = 4000022
	ErrorValidationMaxItems             ID = 4000023
	ErrorValidationMinItems             ID = 4000024
	ErrorValidationUniqueItems          ID = 4000025
	ErrorValidationWrongType            ID = 4000026
	ErrorValidationConst                ID = 4000029
	ErrorValidationConstGeneric         ID = 4000030
	ErrorValidationPasswordIdentifier   ID = 4000031 // too similar to an identifier
	ErrorValidationPasswordMinLength    ID = 4000032
	ErrorValidationPasswordMaxLength    ID = 4000033

	ErrorValidationLoginFlowExpired        ID = 4010001
	ErrorValidationSettingsNoStrategy      ID = 4010004
	ErrorValidationRegistrationFlowExpired ID = 4040001
	ErrorValidationSettingsFlowExpired     ID = 4050001
	// Kratos master's: a settings change may replace one address at a time.
	ErrorValidationSettingsOneAddressAtATime ID = 4050002

	// Recovery (4060xxx) and verification (4070xxx).
	ErrorValidationRecoveryNoStrategy       ID = 4010005
	ErrorValidationVerificationNoStrategy   ID = 4010006
	ErrorValidationRecoveryRetrySuccess     ID = 4060001
	ErrorValidationRecoveryFlowExpired      ID = 4060005
	ErrorValidationRecoveryCodeInvalid      ID = 4060006
	ErrorValidationVerificationRetrySuccess ID = 4070002
	ErrorValidationVerificationFlowExpired  ID = 4070005
	ErrorValidationVerificationCodeInvalid  ID = 4070006
)
