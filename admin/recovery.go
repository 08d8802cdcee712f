package admin

import (
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
)

// maxRecoveryCodeLifespan bounds expires_in: the flow is stored that long.
const maxRecoveryCodeLifespan = 30 * 24 * time.Hour

// adminRecoveryCode answers POST /admin/recovery/code: a recovery code and
// the link to its flow, for an identity, as Kratos v1.3.1 does (201).
func (s *API) adminRecoveryCode(w http.ResponseWriter, r *http.Request) error {
	obj, err := readAdminObject(w, r)
	if err != nil {
		return err
	}
	for k := range obj {
		if k != "identity_id" && k != "expires_in" && k != "flow_type" {
			return apierror.BadRequest("The request body has the unknown property %q.", k)
		}
	}
	identityID, _ := obj["identity_id"].(string)
	expiresIn := s.cfg.FlowLifespan
	if v, ok := obj["expires_in"]; ok {
		str, _ := v.(string)
		d, err := time.ParseDuration(str)
		if err != nil {
			return apierror.BadRequest(`Unable to parse "expires_in" whose format should match "[0-9]+(ns|us|ms|s|m|h)" but did not: %v`, v)
		}
		if d <= 0 {
			return apierror.BadRequest(`Value from "expires_in" must result to a future time: %s`, str)
		}
		if d > maxRecoveryCodeLifespan {
			return apierror.BadRequest(`Value from "expires_in" must be at most %s: %s`, maxRecoveryCodeLifespan, str)
		}
		expiresIn = d
	}
	typ := identity.TypeBrowser
	if v, ok := obj["flow_type"]; ok {
		str, _ := v.(string)
		if str != identity.TypeBrowser && str != identity.TypeAPI {
			return apierror.BadRequest(`Value from "flow_type" is not valid: "%v"`, v)
		}
		typ = str
	}
	if !identity.WellFormedID(identityID) {
		return notFoundIdentity()
	}
	link, code, expiresAt, err := s.svc.AdminRecoveryCode(r, identityID, typ, expiresIn)
	if errors.Is(err, identity.ErrNotFound) {
		return notFoundIdentity()
	}
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("admin: recovery code created", zap.String("identity_id", identityID))
	reply.JSON(w, http.StatusCreated, map[string]any{"recovery_link": link, "recovery_code": code, "expires_at": expiresAt.UTC()})
	return nil
}

func notFoundIdentity() *apierror.Error {
	e := apierror.NotFound("could not find identity")
	e.Message = "Unable to locate the resource"
	return e
}
