package integration

import (
	"testing"

	ory "github.com/ory/client-go"
)

// TestSDKNativeVerificationAndRecovery drives the native (API) verification
// and recovery flows with the official Go SDK: every answer must decode.
func TestSDKNativeVerificationAndRecovery(t *testing.T) {
	s, ms := startCodesSite(t, false)
	email := "sdk-codes@example.com"
	signUpAPI(t, s, email, "a long enough secret 1")
	ms.waitFor(t, 1)
	api := sdkClient(s.kratos(), sdkNativeHTTP(t))
	ctx := t.Context()

	// Verification: email, then the code from the mail.
	vf, _, err := api.FrontendAPI.CreateNativeVerificationFlow(ctx).Execute()
	if err != nil {
		t.Fatalf("CreateNativeVerificationFlow: %v", err)
	}
	vf, _, err = api.FrontendAPI.UpdateVerificationFlow(ctx).Flow(vf.Id).UpdateVerificationFlowBody(
		ory.UpdateVerificationFlowWithCodeMethodAsUpdateVerificationFlowBody(&ory.UpdateVerificationFlowWithCodeMethod{Method: "code", Email: &email})).Execute()
	if err != nil || vf.GetState() != "sent_email" {
		t.Fatalf("UpdateVerificationFlow(email): %v, %v", vf, err)
	}
	code := ms.waitFor(t, 2)[1].code(t)
	vf, _, err = api.FrontendAPI.UpdateVerificationFlow(ctx).Flow(vf.Id).UpdateVerificationFlowBody(
		ory.UpdateVerificationFlowWithCodeMethodAsUpdateVerificationFlowBody(&ory.UpdateVerificationFlowWithCodeMethod{Method: "code", Code: &code})).Execute()
	if err != nil || vf.GetState() != "passed_challenge" {
		t.Fatalf("UpdateVerificationFlow(code): %v, %v", vf, err)
	}

	// Recovery: email, then the code; the answer carries the session token
	// and the settings flow.
	rf, _, err := api.FrontendAPI.CreateNativeRecoveryFlow(ctx).Execute()
	if err != nil {
		t.Fatalf("CreateNativeRecoveryFlow: %v", err)
	}
	rf, _, err = api.FrontendAPI.UpdateRecoveryFlow(ctx).Flow(rf.Id).UpdateRecoveryFlowBody(
		ory.UpdateRecoveryFlowWithCodeMethodAsUpdateRecoveryFlowBody(&ory.UpdateRecoveryFlowWithCodeMethod{Method: "code", Email: &email})).Execute()
	if err != nil || rf.GetState() != "sent_email" {
		t.Fatalf("UpdateRecoveryFlow(email): %v, %v", rf, err)
	}
	code = ms.waitFor(t, 3)[2].code(t)
	rf, _, err = api.FrontendAPI.UpdateRecoveryFlow(ctx).Flow(rf.Id).UpdateRecoveryFlowBody(
		ory.UpdateRecoveryFlowWithCodeMethodAsUpdateRecoveryFlowBody(&ory.UpdateRecoveryFlowWithCodeMethod{Method: "code", Code: &code})).Execute()
	if err != nil || rf.GetState() != "passed_challenge" {
		t.Fatalf("UpdateRecoveryFlow(code): %v, %v", rf, err)
	}
	var token, settingsID string
	for _, c := range rf.ContinueWith {
		if c.ContinueWithSetOrySessionToken != nil {
			token = c.ContinueWithSetOrySessionToken.OrySessionToken
		}
		if c.ContinueWithSettingsUi != nil {
			settingsID = c.ContinueWithSettingsUi.Flow.Id
		}
	}
	if token == "" || settingsID == "" {
		t.Fatalf("continue_with = %+v", rf.ContinueWith)
	}
	sess, _, err := api.FrontendAPI.ToSession(ctx).XSessionToken(token).Execute()
	if err != nil || sess.Identity.Traits.(map[string]any)["email"] != email {
		t.Fatalf("ToSession with the recovery's token: %v, %v", sess, err)
	}
	sf, _, err := api.FrontendAPI.GetSettingsFlow(ctx).Id(settingsID).XSessionToken(token).Execute()
	if err != nil {
		t.Fatalf("GetSettingsFlow: %v", err)
	}
	password := "a brand new password 2"
	_, _, err = api.FrontendAPI.UpdateSettingsFlow(ctx).Flow(sf.Id).XSessionToken(token).UpdateSettingsFlowBody(
		ory.UpdateSettingsFlowWithPasswordMethodAsUpdateSettingsFlowBody(&ory.UpdateSettingsFlowWithPasswordMethod{Method: "password", Password: password})).Execute()
	if err != nil {
		t.Fatalf("UpdateSettingsFlow(password) with the recovery's session: %v", err)
	}
}
