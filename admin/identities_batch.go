package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/events"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/body"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
)

// Bounds of PATCH /admin/identities. The item count is Kratos'
// (BatchPatchIdentitiesLimit); each item's create body is bounded as the body
// of POST /admin/identities is, and the whole body by room for the items.
const (
	adminBatchMaxItems     = 2000
	adminBatchMaxBodyBytes = 8 << 20
)

// The actions of a batch result: Kratos v1.3.1 creates, or reports the error.
const (
	batchActionCreate = "create"
	batchActionError  = "error"
)

// batchResult is one item of the batch response: {action, identity?,
// patch_id?, error?}, error being the inner object of Kratos' error envelope.
type batchResult struct {
	Action   string              `json:"action"`
	Identity string              `json:"identity,omitempty"`
	PatchID  string              `json:"patch_id,omitempty"`
	Error    *apierror.Body      `json:"error,omitempty"`
	in       *adminIdentityInput // the decoded create body
}

// batchConflict is what Kratos answers for an item whose identifier another
// identity (or an earlier item) has: its database's unique violation.
var batchConflict = &apierror.Error{Code: http.StatusConflict, Message: "Unable to insert or update resource because a resource with that value exists already"}

// adminBatchPatchIdentities answers PATCH /admin/identities, Kratos v1.3.1's
// batch create: {"identities": [{"create": {…}, "patch_id": "<uuid>"}, …]}.
//
// As in Kratos, a body that cannot be decoded (an unknown field, a create body
// POST would refuse before validating it) fails the whole batch with 400 and
// nothing is created. Every item that decodes is then created on its own,
// in order: invalid traits (and the other checks POST makes of a decoded
// body) and an identifier another identity or an earlier item has are that
// item's `"action": "error"` with the error, and do not stop the others. An
// item without `create` answers null, as Kratos does. A store failure stops
// the batch with 503; the items created before it stay.
func (s *API) adminBatchPatchIdentities(w http.ResponseWriter, r *http.Request) error {
	results, err := s.decodeBatch(w, r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	created, failed := 0, 0
	for _, res := range results {
		if res == nil {
			continue
		}
		if ctx.Err() != nil {
			// The caller is gone: nobody reads an answer.
			s.cfg.Logger.Info("admin: batch stopped, its caller went away", zap.Int("created", created), zap.Int("failed", failed))
			return nil
		}
		id, err := s.newAdminIdentity(res.in)
		if err == nil {
			err = s.cfg.Store.CreateIdentity(ctx, id)
			if errors.Is(err, identity.ErrDuplicateIdentifier) || errors.Is(err, identity.ErrExists) {
				err = batchConflict
			}
		}
		var apiErr *apierror.Error
		switch {
		case err == nil:
			res.Identity = id.ID
			s.svc.Emit(ctx, events.Event{Name: events.IdentityCreated, IdentityID: id.ID, Flow: "admin"})
			created++
		case errors.As(err, &apiErr):
			inner := apiErr.Envelope("").Error
			res.Action, res.Error = batchActionError, &inner
			failed++
		default:
			s.cfg.Logger.Info("admin: batch stopped by a store failure", zap.Int("created", created), zap.Int("failed", failed))
			return err
		}
	}
	s.cfg.Logger.Info("admin: identities created in a batch", zap.Int("created", created), zap.Int("failed", failed))
	reply.JSON(w, http.StatusOK, map[string][]*batchResult{"identities": results})
	return nil
}

// decodeBatch reads and checks the batch body: a result per item, nil for an
// item without `create`, each with its decoded create body.
func (s *API) decodeBatch(w http.ResponseWriter, r *http.Request) ([]*batchResult, error) {
	v, _, err := readAdminJSONUpTo(w, r, adminBatchMaxBodyBytes)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, apierror.BadRequest("The request body must be a JSON object.")
	}
	if err := onlyFields("The request body", obj, "identities"); err != nil {
		return nil, err
	}
	var items []any
	if raw := obj["identities"]; raw != nil {
		if items, ok = raw.([]any); !ok {
			return nil, apierror.BadRequest(`The field "identities" must be a JSON array.`)
		}
	}
	if len(items) > adminBatchMaxItems {
		return nil, apierror.BadRequest("The maximum number of identities that can be created or deleted at once is %d.", adminBatchMaxItems)
	}
	results := make([]*batchResult, len(items))
	for i, item := range items {
		res, err := s.decodeBatchItem(i, item)
		if err != nil {
			return nil, err
		}
		results[i] = res
	}
	return results, nil
}

// decodeBatchItem checks one item, {"create": {…}, "patch_id": "<uuid>"};
// errors name the item.
func (s *API) decodeBatchItem(i int, item any) (*batchResult, error) {
	where := fmt.Sprintf("identities[%d]", i)
	obj, ok := item.(map[string]any)
	if !ok {
		return nil, apierror.BadRequest("%s must be a JSON object.", where)
	}
	if err := onlyFields(where, obj, "create", "patch_id"); err != nil {
		return nil, err
	}
	patchID := ""
	if raw := obj["patch_id"]; raw != nil {
		str, _ := raw.(string)
		u, err := uuid.Parse(str)
		if err != nil {
			return nil, apierror.BadRequest("%s.patch_id must be a UUID.", where)
		}
		patchID = u.String()
	}
	raw := obj["create"]
	if raw == nil {
		return nil, nil
	}
	create, ok := raw.(map[string]any)
	if !ok {
		return nil, apierror.BadRequest("%s.create must be a JSON object.", where)
	}
	// The bound of a POST body, on the item's own encoding.
	if enc, err := json.Marshal(create); err != nil || len(enc) > body.MaxBodyBytes {
		return nil, apierror.New(http.StatusRequestEntityTooLarge, "%s.create is larger than %d bytes.", where, body.MaxBodyBytes)
	}
	in, err := s.decodeAdminIdentity(create, adminCreateFields)
	if err != nil {
		var apiErr *apierror.Error
		if errors.As(err, &apiErr) {
			named := *apiErr
			named.Reason = where + ".create: " + apiErr.Reason
			return nil, &named
		}
		return nil, err
	}
	return &batchResult{Action: batchActionCreate, PatchID: patchID, in: in}, nil
}

// onlyFields refuses an object with a member other than allowed, as Kratos'
// strict JSON decoding does; what names the object.
func onlyFields(what string, obj map[string]any, allowed ...string) error {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !slices.Contains(allowed, k) {
			return apierror.BadRequest("%s has the unknown field %q.", what, k)
		}
	}
	return nil
}
